"""Factories for tests: tenants with IAM users in known roles."""

import itertools
from dataclasses import dataclass

from tenancy import actions
from tenancy.audit import Actor
from tenancy.models import Account, Project, User

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


def make_account(name: str | None = None, **kwargs) -> Account:
    return actions.create_account(Actor.system(), name=name or f"tenant-{next(_counter)}", **kwargs)


def make_user(account: Account, *, role: str = "full", name: str | None = None, password: str = PASSWORD,
              policies=()) -> User:
    """role: "full" (admin group: FullAccess), "readonly" (ReadOnly policy), "none" (no policy)."""
    groups, attached = [], list(policies)
    if role == "full":
        groups = [account.groups.get(name=actions.ADMIN_GROUP).pk]
    elif role == "readonly":
        attached.append(actions.read_only_policy().pk)
    return actions.create_iam_user(Actor.system(account), account, username=name or f"user-{next(_counter)}",
                                   password=password, groups=groups, policies=attached)


@dataclass
class Tenant:
    account: Account
    project: Project
    owner: User
    member: User  # ReadOnly
    nobody: User  # no policy at all

    @property
    def project_id(self) -> str:
        return self.project.project_id


def make_tenant(region: str = "cn-north-4", **kwargs) -> Tenant:
    account = make_account(**kwargs)
    return Tenant(
        account=account,
        project=account.projects.get(region=region),
        owner=make_user(account, role="full"),
        member=make_user(account, role="readonly"),
        nobody=make_user(account, role="none"),
    )
