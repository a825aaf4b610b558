"""Console sign-ins and sign-outs go to the audit log like every other action."""

from dataclasses import replace

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from tenancy.audit import Actor, record_audit


@receiver(user_logged_in, dispatch_uid="audit-login")
def audit_login(sender, request, user, **kwargs):
    actor = replace(Actor.from_request(request, via="console"), user=user, account=user.account)
    record_audit(actor, "auth.login", user)


@receiver(user_logged_out, dispatch_uid="audit-logout")
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        actor = replace(Actor.from_request(request, via="console"), user=user, account=user.account)
        record_audit(actor, "auth.logout", user)


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def audit_login_failed(sender, credentials, request=None, **kwargs):
    if request is None:
        return
    name = str(credentials.get("username") or credentials.get("login") or credentials.get("email") or "")[:150]
    record_audit(Actor.from_request(request, via="console"), "auth.login_failed", detail={"login": name})
