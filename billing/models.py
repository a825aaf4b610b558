import uuid

from django.db import models


class UsageRecord(models.Model):
    """One billable quantity, recorded once per (source job, resource type)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("tenancy.Account", on_delete=models.CASCADE, related_name="usage_records")
    resource_type = models.CharField(max_length=48)
    quantity = models.DecimalField(max_digits=18, decimal_places=3)
    unit = models.CharField(max_length=16)
    source_job = models.ForeignKey("metastudio.Job", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="usage_records")
    source_key = models.CharField(max_length=128, unique=True,
                                  help_text="Idempotency key: the same billable event is recorded only once.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "created_at"], name="usage_tenant_time")]

    def __str__(self) -> str:
        return f"{self.account} {self.resource_type} {self.quantity} {self.unit}"
