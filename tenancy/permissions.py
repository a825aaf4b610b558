"""Which IAM actions a user may perform: the one place every API view and console page asks."""

from functools import lru_cache

from django.db.models import Q

from tenancy.models import Policy
from tenancy.policy import is_allowed


def user_can(user, action: str) -> bool:
    if user is None or not user.is_authenticated or not user.is_active or user.account_id is None:
        return False
    return is_allowed(_statements(user.pk, user.account_id, user.account.iam_version), action)


@lru_cache(maxsize=2048)
def _statements(user_pk, account_pk, iam_version: int) -> tuple:
    # iam_version is part of the cache key: any IAM change in the account bumps it.
    rows = Policy.objects.filter(Q(users__pk=user_pk) | Q(groups__members__pk=user_pk)).values_list("pk", "document")
    documents = dict(rows).values()
    return tuple(statement for document in documents for statement in document["Statement"])
