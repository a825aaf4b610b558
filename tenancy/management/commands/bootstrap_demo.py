import secrets

from django.core.management.base import BaseCommand
from django.db import transaction

from tenancy import actions
from tenancy.audit import Actor
from tenancy.models import Account, User

DEMO_ACCOUNT = "demo"
DEMO_ADMIN = "demo-admin"
BACK_OFFICE_ADMIN = "platform-admin"


class Command(BaseCommand):
    help = "Create the demo enterprise tenant with an admin, and a back-office superuser; print credentials."

    def add_arguments(self, parser):
        parser.add_argument("--reset-passwords", action="store_true", help="set new passwords and print them")

    @transaction.atomic
    def handle(self, *args, reset_passwords=False, **options):
        actor = Actor.system()
        account = Account.objects.filter(name=DEMO_ACCOUNT).first()
        lines = []
        if account is None:
            account = actions.create_account(actor, name=DEMO_ACCOUNT, is_enterprise=True)
        admin = User.objects.filter(username=DEMO_ADMIN).first()
        if admin is None:
            password = secrets.token_urlsafe(12)
            admin_group = account.groups.get(name=actions.ADMIN_GROUP)
            admin = actions.create_iam_user(actor, account, username=DEMO_ADMIN, password=password,
                                            email="demo-admin@example.com", groups=[admin_group.pk])
            lines.append(("console user (tenant admin)", DEMO_ADMIN, password))
        staff = User.objects.filter(username=BACK_OFFICE_ADMIN).first()
        if staff is None:
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(BACK_OFFICE_ADMIN, "platform-admin@example.com", password)
            lines.append(("back-office superuser (/admin/)", BACK_OFFICE_ADMIN, password))
        if reset_passwords:
            lines = []
            for user, label in ((admin, "console user (tenant admin)"),
                                (User.objects.get(username=BACK_OFFICE_ADMIN), "back-office superuser (/admin/)")):
                password = secrets.token_urlsafe(12)
                user.set_password(password)
                user.save(update_fields=["password"])
                lines.append((label, user.username, password))
        self._print(account, lines)

    def _print(self, account, lines):
        out = self.stdout
        out.write(f"Demo tenant '{account.name}' (enterprise). API projects:")
        for project in account.projects.all():
            out.write(f"  {project.region}: {project.project_id}")
        if not lines:
            out.write("Users already exist; run `python manage.py bootstrap_demo --reset-passwords` for new passwords.")
        for label, name, password in lines:
            out.write(self.style.SUCCESS(f"{label}: user {name}  password {password}"))
