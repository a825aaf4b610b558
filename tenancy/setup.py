"""Platform records every installation needs, made after each migrate (idempotent)."""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

BACK_OFFICE_GROUPS = {
    # Auditors read the audit log and jobs in the admin and export the log.
    "auditor": ["tenancy.view_auditlog", "tenancy.export_auditlog", "metastudio.view_job"],
    # Reviewers look at tenants' material: flagged assets, voice and avatar training material (approve / reject).
    "reviewer": ["tenancy.view_account", "tenancy.view_user", "metastudio.view_job", "assets.view_asset",
                 "assets.change_asset", "voices.view_voicetrainingjob", "voices.change_voicetrainingjob",
                 "avatars.view_avatartrainingjob", "avatars.change_avatartrainingjob", "avatars.view_avatarupload"],
}
SCHEDULES = {
    "metastudio.jobs.reap": ("job reaper", 1),
    "assets.actions.fail_stale_uploads": ("fail assets whose main file never arrived", 10),
}


def ensure_platform_records(**kwargs) -> None:
    from tenancy.actions import ensure_system_policies

    ensure_system_policies()
    for app_config in apps.get_app_configs():  # permissions of apps migrated after this one, too
        create_permissions(app_config, verbosity=0)
    for name, codes in BACK_OFFICE_GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for code in codes:
            app_label, codename = code.split(".")
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                group.permissions.add(permission)
    _ensure_schedules()


def _ensure_schedules() -> None:
    from django_q.models import Schedule

    for func, (name, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            func=func, defaults={"name": name, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1}
        )
