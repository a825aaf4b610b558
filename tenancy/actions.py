"""Every state change of tenancy: accounts, IAM users, groups, policies, keys, tokens. Atomic and audited."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from metastudio.errors import InvalidParameter, NotFound, StateConflict
from tenancy import policy as policy_language
from tenancy.audit import Actor, record_audit
from tenancy.models import AccessKey, Account, AuthToken, Policy, Project, User, UserGroup
from tenancy.secrets import encrypt_secret, new_access_key_id, new_secret_key, new_token, sha256_hex

ADMIN_GROUP = "admin"
MAX_ACCESS_KEYS_PER_USER = 2


def _bump_iam_version(account: Account) -> None:
    Account.objects.filter(pk=account.pk).update(iam_version=F("iam_version") + 1)


def ensure_system_policies() -> dict[str, Policy]:
    policies = {}
    for name, (description, document) in policy_language.SYSTEM_POLICIES.items():
        policies[name], _ = Policy.objects.update_or_create(
            account=None, name=name,
            defaults={"type": Policy.Type.SYSTEM, "description": description, "document": document},
        )
    return policies


def full_access_policy() -> Policy:
    return ensure_system_policies()["MetaStudio FullAccess"]


def read_only_policy() -> Policy:
    return ensure_system_policies()["MetaStudio ReadOnlyAccess"]


@transaction.atomic
def create_account(actor: Actor, *, name: str, is_enterprise: bool = True, type: str = Account.Type.TENANT,
                   regions: list[str] | None = None) -> Account:
    if Account.objects.filter(name__iexact=name).exists():
        raise InvalidParameter(f"account {name!r} already exists", field="name")
    account = Account.objects.create(name=name, is_enterprise=is_enterprise, type=type)
    for region in regions or settings.METASTUDIO_REGIONS:
        Project.objects.create(account=account, region=region)
    admin_group = UserGroup.objects.create(account=account, name=ADMIN_GROUP, description="Account administrators")
    admin_group.policies.add(full_access_policy())
    record_audit(actor, "account.create", account, account=account,
                 detail={"name": name, "is_enterprise": is_enterprise, "type": type})
    return account


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise InvalidParameter(" ".join(error.messages), field="password") from None


def _account_groups(account: Account, group_ids) -> list[UserGroup]:
    groups = list(UserGroup.objects.filter(account=account, pk__in=list(group_ids or [])))
    if len(groups) != len(set(map(str, group_ids or []))):
        raise InvalidParameter("unknown user group", field="groups")
    return groups


def _visible_policies(account: Account, policy_ids) -> list[Policy]:
    policies = list(Policy.visible_to(account).filter(pk__in=list(policy_ids or [])))
    if len(policies) != len(set(map(str, policy_ids or []))):
        raise InvalidParameter("unknown policy", field="policies")
    return policies


@transaction.atomic
def create_iam_user(actor: Actor, account: Account, *, username: str, password: str, email: str = "",
                    description: str = "", groups=(), policies=()) -> User:
    if not username or len(username) > 64:
        raise InvalidParameter("1 to 64 characters", field="name")
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidParameter(f"user name {username!r} is already taken", field="name")
    if email and User.objects.filter(email__iexact=email).exists():
        raise InvalidParameter("this email is already used", field="email")
    _check_password(password)
    user = User(username=username, email=email, account=account, description=description)
    user.set_password(password)
    user.save()
    user.iam_groups.set(_account_groups(account, groups))
    user.policies.set(_visible_policies(account, policies))
    _bump_iam_version(account)
    record_audit(actor, "iam.user.create", user, account=account,
                 detail={"name": username, "groups": [str(g) for g in groups], "policies": [str(p) for p in policies]})
    return user


@transaction.atomic
def update_iam_user(actor: Actor, user: User, *, description=None, email=None, is_active=None, groups=None,
                    policies=None, password=None) -> User:
    changed = {}
    if description is not None:
        user.description = changed["description"] = description
    if email is not None:
        if email and User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
            raise InvalidParameter("this email is already used", field="email")
        user.email = changed["email"] = email
    if is_active is not None:
        if not is_active and actor.user is not None and actor.user.pk == user.pk:
            raise StateConflict("you cannot disable yourself", field="enabled")
        user.is_active = changed["enabled"] = bool(is_active)
    if password:
        _check_password(password, user)
        user.set_password(password)
        changed["password"] = "changed"
    user.save()
    if groups is not None:
        user.iam_groups.set(_account_groups(user.account, groups))
        changed["groups"] = [str(g) for g in groups]
    if policies is not None:
        user.policies.set(_visible_policies(user.account, policies))
        changed["policies"] = [str(p) for p in policies]
    _bump_iam_version(user.account)
    record_audit(actor, "iam.user.update", user, account=user.account, detail=changed)
    return user


@transaction.atomic
def delete_iam_user(actor: Actor, user: User) -> None:
    if actor.user is not None and actor.user.pk == user.pk:
        raise StateConflict("you cannot delete yourself", field="user_id")
    account = user.account
    record_audit(actor, "iam.user.delete", user, account=account, detail={"name": user.username})
    user.delete()
    _bump_iam_version(account)


@transaction.atomic
def create_group(actor: Actor, account: Account, *, name: str, description: str = "", members=(),
                 policies=()) -> UserGroup:
    if not name or len(name) > 64:
        raise InvalidParameter("1 to 64 characters", field="name")
    if UserGroup.objects.filter(account=account, name__iexact=name).exists():
        raise InvalidParameter(f"group {name!r} already exists", field="name")
    group = UserGroup.objects.create(account=account, name=name, description=description)
    group.members.set(_account_users(account, members))
    group.policies.set(_visible_policies(account, policies))
    _bump_iam_version(account)
    record_audit(actor, "iam.group.create", group, account=account, detail={"name": name})
    return group


def _account_users(account: Account, user_ids) -> list[User]:
    users = list(User.objects.filter(account=account, pk__in=list(user_ids or [])))
    if len(users) != len(set(map(str, user_ids or []))):
        raise InvalidParameter("unknown user", field="members")
    return users


@transaction.atomic
def update_group(actor: Actor, group: UserGroup, *, description=None, members=None, policies=None) -> UserGroup:
    changed = {}
    if description is not None:
        group.description = changed["description"] = description
        group.save(update_fields=["description"])
    if members is not None:
        group.members.set(_account_users(group.account, members))
        changed["members"] = [str(m) for m in members]
    if policies is not None:
        group.policies.set(_visible_policies(group.account, policies))
        changed["policies"] = [str(p) for p in policies]
    _bump_iam_version(group.account)
    record_audit(actor, "iam.group.update", group, account=group.account, detail=changed)
    return group


@transaction.atomic
def delete_group(actor: Actor, group: UserGroup) -> None:
    if group.name == ADMIN_GROUP:
        raise StateConflict("the admin group cannot be deleted", field="group_id")
    account = group.account
    record_audit(actor, "iam.group.delete", group, account=account, detail={"name": group.name})
    group.delete()
    _bump_iam_version(account)


@transaction.atomic
def create_policy(actor: Actor, account: Account, *, name: str, document, description: str = "") -> Policy:
    if not name or len(name) > 64:
        raise InvalidParameter("1 to 64 characters", field="name")
    try:
        document = policy_language.validate_document(document)
    except policy_language.PolicyError as error:
        raise InvalidParameter(str(error), field="policy") from None
    if Policy.visible_to(account).filter(name__iexact=name).exists():
        raise InvalidParameter(f"policy {name!r} already exists", field="name")
    created = Policy.objects.create(account=account, name=name, document=document, description=description,
                                    type=Policy.Type.CUSTOM)
    record_audit(actor, "iam.policy.create", created, account=account, detail={"name": name, "document": document})
    return created


@transaction.atomic
def update_policy(actor: Actor, target: Policy, *, document=None, description=None) -> Policy:
    if target.type == Policy.Type.SYSTEM:
        raise StateConflict("system policies cannot be changed", field="policy_id")
    if document is not None:
        try:
            target.document = policy_language.validate_document(document)
        except policy_language.PolicyError as error:
            raise InvalidParameter(str(error), field="policy") from None
    if description is not None:
        target.description = description
    target.save()
    _bump_iam_version(target.account)
    record_audit(actor, "iam.policy.update", target, account=target.account, detail={"document": target.document})
    return target


@transaction.atomic
def delete_policy(actor: Actor, target: Policy) -> None:
    if target.type == Policy.Type.SYSTEM:
        raise StateConflict("system policies cannot be deleted", field="policy_id")
    account = target.account
    record_audit(actor, "iam.policy.delete", target, account=account, detail={"name": target.name})
    target.delete()
    _bump_iam_version(account)


@transaction.atomic
def create_access_key(actor: Actor, user: User, *, description: str = "") -> tuple[AccessKey, str]:
    """Returns the key and its secret; the secret is never shown again."""
    if user.access_keys.count() >= MAX_ACCESS_KEYS_PER_USER:
        raise InvalidParameter(f"a user has at most {MAX_ACCESS_KEYS_PER_USER} access keys", field="user_id")
    secret = new_secret_key()
    key = AccessKey.objects.create(
        access_key_id=new_access_key_id(), user=user, secret_encrypted=encrypt_secret(secret), description=description
    )
    record_audit(actor, "iam.access_key.create", key, account=user.account,
                 detail={"access_key_id": key.access_key_id, "user": user.username})
    return key, secret


@transaction.atomic
def set_access_key_active(actor: Actor, key: AccessKey, active: bool) -> AccessKey:
    key.is_active = active
    key.save(update_fields=["is_active"])
    record_audit(actor, "iam.access_key.update", key, account=key.user.account,
                 detail={"access_key_id": key.access_key_id, "active": active})
    return key


@transaction.atomic
def delete_access_key(actor: Actor, key: AccessKey) -> None:
    record_audit(actor, "iam.access_key.delete", key, account=key.user.account,
                 detail={"access_key_id": key.access_key_id})
    key.delete()


def issue_token(actor: Actor, user: User, project: Project | None) -> tuple[AuthToken, str]:
    raw = new_token()
    token = AuthToken.objects.create(
        token_hash=sha256_hex(raw), user=user, project=project,
        expires_at=timezone.now() + timedelta(seconds=settings.TOKEN_TTL_SECONDS),
    )
    AuthToken.objects.filter(user=user, expires_at__lt=timezone.now()).delete()
    record_audit(actor, "auth.token.create", user, account=user.account,
                 detail={"project_id": project.project_id if project else None})
    return token, raw


def project_of(account: Account, project_id: str) -> Project:
    project = Project.objects.filter(account=account, project_id=project_id).first()
    if project is None:
        raise NotFound(f"project {project_id} does not exist", code="MSS.00000002")
    project.account = account  # already loaded with the user: saves a query on every API call
    return project
