"""Shared test base: two tenants (owner = FullAccess, member = ReadOnly, nobody = no policy) and API clients."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tenancy import actions
from tenancy.audit import Actor
from tests.factories import make_tenant


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ASSET_UPLOAD_DIR = tmp_path / "uploads"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tenant(db):
    return make_tenant()


@pytest.fixture
def other_tenant(db):
    return make_tenant()


def token_for(user, project=None) -> str:
    _, raw = actions.issue_token(Actor.system(user.account), user, project)
    return raw


@pytest.fixture
def api():
    """api(user) -> an APIClient authenticated with a fresh X-Auth-Token of that user."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_X_AUTH_TOKEN=token_for(user))
        return client

    return make
