import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from metastudio.api.ratelimit_table import REGIONS


def new_project_id() -> str:
    return uuid.uuid4().hex


class Account(models.Model):
    """A tenant: an enterprise (or personal, or SP) account with one project per region."""

    class Type(models.TextChoices):
        TENANT = "TENANT", "Tenant"
        SP = "SP", "Service provider (reseller)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.TENANT)
    is_enterprise = models.BooleanField(
        default=True, help_text="Custom avatars and voices are for enterprise accounts only."
    )
    sp = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="sp_tenants",
        limit_choices_to={"type": "SP"},
    )
    iam_version = models.PositiveIntegerField(default=1, help_text="Bumped on every IAM change (cache key).")
    review_exempt = models.BooleanField(
        default=False, help_text="Exempt from machine review of names, descriptions and texts (granted on request)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    """The account's project in one region; its id is the `{project_id}` of every API path."""

    REGION_CHOICES = [(region, region) for region in REGIONS]

    project_id = models.CharField(max_length=32, unique=True, default=new_project_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="projects")
    region = models.CharField(max_length=32, choices=REGION_CHOICES)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "region"], name="one_project_per_region")]
        ordering = ["region"]

    def __str__(self) -> str:
        return f"{self.account.name}/{self.region}"


class User(AbstractUser):
    """A console/API user. Tenant users are IAM users of one account; back-office staff have none."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="users")
    description = models.CharField(max_length=255, blank=True)


class Policy(models.Model):
    """An IAM policy document: {"Version": "1.1", "Statement": [{"Action": [...], "Effect": "Allow|Deny"}]}."""

    class Type(models.TextChoices):
        SYSTEM = "SYSTEM", "System"
        CUSTOM = "CUSTOM", "Custom"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="policies")
    name = models.CharField(max_length=64)
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.CUSTOM)
    description = models.CharField(max_length=255, blank=True)
    document = models.JSONField()
    users = models.ManyToManyField(User, blank=True, related_name="policies")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="unique_policy_name")]
        ordering = ["type", "name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def visible_to(cls, account):
        return cls.objects.filter(Q(account=account) | Q(account__isnull=True, type=cls.Type.SYSTEM))


class UserGroup(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=64)
    description = models.CharField(max_length=255, blank=True)
    members = models.ManyToManyField(User, blank=True, related_name="iam_groups")
    policies = models.ManyToManyField(Policy, blank=True, related_name="groups")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="unique_group_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AccessKey(models.Model):
    """AK/SK pair. The SK is shown once; it is stored encrypted because HMAC verification needs it."""

    access_key_id = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_keys")
    secret_encrypted = models.BinaryField()
    description = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.access_key_id


class AuthToken(models.Model):
    """A login token (X-Auth-Token). Only its SHA-256 is stored."""

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"token of {self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class AuditLog(models.Model):
    """Who did what, when and from where. Written by every action function."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    via = models.CharField(max_length=16, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("export_auditlog", "Can export audit logs")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action}"
