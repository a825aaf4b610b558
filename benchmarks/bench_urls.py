"""The product's URLs plus two baselines of the api_overhead benchmark:

/bench/bare: a plain Django view that returns fixed JSON bytes, no auth, no DB. The bytes are those of the
authenticated list call being compared: set in-process through BARE_BODY, or, in a server process, read
once from the file named by METASTUDIO_BENCH_BARE_BODY_FILE.

/bench/bare-db/<project_id>: a plain Django view that builds the same JSON from the database itself (the
same page of users with their groups and policies) with no authentication, IAM, rate limit or DRF. The
difference to it is what the API layer adds.
"""

import os

from django.db.models import Prefetch
from django.http import HttpResponse, JsonResponse
from django.urls import path

from metastudio.urls import handler404  # noqa: F401
from metastudio.urls import urlpatterns as product_urlpatterns

BARE_BODY: dict[str, bytes] = {}


def bare(request):
    body = BARE_BODY.get("body")
    if body is None:
        with open(os.environ["METASTUDIO_BENCH_BARE_BODY_FILE"], "rb") as handle:
            body = BARE_BODY["body"] = handle.read()
    return HttpResponse(body, content_type="application/json")


def bare_db(request, project_id):
    from tenancy.models import Policy, Project, User, UserGroup

    account_id = Project.objects.values_list("account_id", flat=True).get(project_id=project_id)
    limit = int(request.GET.get("limit", 10))
    users = list(
        User.objects.filter(account_id=account_id).order_by("username").prefetch_related(
            Prefetch("iam_groups", UserGroup.objects.only("id")), Prefetch("policies", Policy.objects.only("id"))
        )[:limit]
    )
    return JsonResponse({"count": len(users), "users": [{
        "user_id": str(user.pk), "name": user.username, "email": user.email, "description": user.description,
        "enabled": user.is_active, "groups": [str(g.pk) for g in user.iam_groups.all()],
        "policies": [str(p.pk) for p in user.policies.all()],
        "create_time": user.date_joined.isoformat().replace("+00:00", "Z"),
    } for user in users]}, json_dumps_params={"separators": (",", ":"), "ensure_ascii": False})


urlpatterns = [path("bench/bare", bare), path("bench/bare-db/<str:project_id>", bare_db), *product_urlpatterns]
