from tenancy.permissions import user_can

# (label, url name, IAM action needed to see it). Only areas that work are listed.
NAVIGATION = [
    ("Overview", "console:overview", None),
    ("Task center", "console:tasks", "metastudio:job:show"),
    ("Asset library", "console:assets", "metastudio:asset:show"),
    ("Avatar library", "console:avatars", "metastudio:avatar:show"),
    ("Avatar production", "console:avatar_new", "metastudio:avatar:show"),
    ("Video production", "console:videos", "metastudio:video:show"),
    ("Photo digital human", "console:photos", "metastudio:photo:show"),
    ("Business cards", "console:cards", "metastudio:businesscard:show"),
    ("Voice library", "console:voices", "metastudio:voice:show"),
    ("Voice production", "console:voice_new", "metastudio:voice:show"),
    ("TTS playground", "console:tts", "metastudio:tts:create"),
    ("IAM users", "console:users", "metastudio:iamuser:show"),
    ("User groups", "console:groups", "metastudio:iamgroup:show"),
    ("Policies", "console:policies", "metastudio:iampolicy:show"),
    ("Access keys", "console:access_keys", None),
    ("Audit log", "console:audit_log", "metastudio:auditlog:show"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.account_id is None:
        return {}
    items = [(label, name) for label, name, action in NAVIGATION if action is None or user_can(user, action)]
    return {"nav_items": items, "current_url_name": getattr(request.resolver_match, "view_name", "")}
