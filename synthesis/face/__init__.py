"""Face analysis on video and images, Django-free: frame I/O through ffmpeg, FaceMesh landmarks and head pose,
mouth and eye measures, mattes, and the training-video checks."""
