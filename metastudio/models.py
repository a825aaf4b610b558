from metastudio.jobs import Job

__all__ = ["Job"]
