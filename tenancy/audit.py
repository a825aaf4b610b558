"""Who is acting, and the audit trail every action function writes."""

from dataclasses import dataclass, field

from tenancy.models import AuditLog


@dataclass(frozen=True)
class Actor:
    user: object | None
    account: object | None
    via: str = "system"
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.user.username if self.user is not None else "system"

    @classmethod
    def from_request(cls, request, via: str) -> "Actor":
        user = getattr(request, "user", None)  # absent on requests made outside the middleware (test login)
        user = user if getattr(user, "is_authenticated", False) else None
        return cls(
            user=user,
            account=getattr(user, "account", None),
            via=via,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:255],
            request_id=getattr(request, "request_id", ""),
        )

    @classmethod
    def system(cls, account=None) -> "Actor":
        return cls(user=None, account=account, via="system")


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def record_audit(actor: Actor, action: str, target=None, *, account=None, detail: dict | None = None) -> AuditLog:
    """Write one audit row; call it inside the action's transaction."""
    return AuditLog.objects.create(
        account=account if account is not None else actor.account,
        actor=actor.user,
        actor_name=actor.name,
        action=action,
        target_type=type(target).__name__ if target is not None else "",
        target_id=str(getattr(target, "pk", "")) if target is not None else "",
        detail=detail or {},
        source_ip=actor.ip,
        user_agent=actor.user_agent,
        via=actor.via,
        request_id=actor.request_id,
    )
