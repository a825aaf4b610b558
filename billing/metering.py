"""The metering hook: every billable unit is recorded exactly once."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from billing.models import UsageRecord


def record_usage(account, resource_type: str, quantity, unit: str, *, source_job=None,
                 source_key: str | None = None) -> tuple[UsageRecord, bool]:
    """Record usage; returns (record, created). A repeated key returns the first record unchanged."""
    if source_key is None:
        if source_job is None:
            raise ValueError("usage needs a source_job or a source_key")
        source_key = f"job:{source_job.pk}:{resource_type}"
    quantity = Decimal(str(quantity))
    if quantity < 0:
        raise ValueError("usage quantity cannot be negative")
    existing = UsageRecord.objects.filter(source_key=source_key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            record = UsageRecord.objects.create(account=account, resource_type=resource_type, quantity=quantity,
                                                unit=unit, source_job=source_job, source_key=source_key)
    except IntegrityError:  # a concurrent recorder won the race
        return UsageRecord.objects.get(source_key=source_key), False
    return record, True


def usage_this_month(account) -> list[dict]:
    start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rows = (
        UsageRecord.objects.filter(account=account, created_at__gte=start)
        .values("resource_type", "unit")
        .annotate(total=Sum("quantity"))
        .order_by("resource_type")
    )
    return list(rows)
