from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission

from metastudio.errors import PermissionDenied
from tenancy.permissions import user_can


class IamActionPermission(BasePermission):
    """Every API view declares the IAM action of each of its operations; checked here and only here."""

    def has_permission(self, request, view) -> bool:
        action = view.iam_action()
        if action is None:
            raise ImproperlyConfigured(f"{type(view).__name__} declares no IAM action for {request.method}")
        if not user_can(request.user, action):
            raise PermissionDenied(f"the IAM policies of this user do not allow {action}")
        return True
