"""Platform records every installation needs, made after each migrate (idempotent)."""

from django.contrib.auth.models import Group, Permission

BACK_OFFICE_GROUPS = {
    # Auditors read the audit log and jobs in the admin and export the log.
    "auditor": ["tenancy.view_auditlog", "tenancy.export_auditlog", "metastudio.view_job"],
    # Reviewers look at tenants' material; later issues add their review queues to this group.
    "reviewer": ["tenancy.view_account", "tenancy.view_user", "metastudio.view_job"],
}
REAPER = "metastudio.jobs.reap"


def ensure_platform_records(**kwargs) -> None:
    from tenancy.actions import ensure_system_policies

    ensure_system_policies()
    for name, codes in BACK_OFFICE_GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for code in codes:
            app_label, codename = code.split(".")
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                group.permissions.add(permission)
    _ensure_reaper_schedule()


def _ensure_reaper_schedule() -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        func=REAPER, defaults={"name": "job reaper", "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1}
    )
