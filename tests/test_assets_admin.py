"""The asset review queue in the back office: reviewers approve or reject assets the machine review flagged, and
freeze / unfreeze assets, each with an audit row; auditors cannot change assets."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group

from assets import actions
from assets.models import Asset
from tenancy.audit import Actor
from tenancy.models import AuditLog, User
from tests.api_helpers import fast_password_hashing  # noqa: F401
from tests.factories import PASSWORD

ASSET_LIST = "/admin/assets/asset/"
FLAGGED_NAME = "forbidden-word-example poster"  # matches assets/wordlists/default.txt


def staff(name: str, *groups: str) -> User:
    user = User.objects.create_user(username=name, password=PASSWORD, is_staff=True)
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


@pytest.fixture
def reviewer(db):
    return staff("rev", "reviewer")


@pytest.fixture
def auditor(db):
    return staff("audrey", "auditor")


def flagged(tenant, name: str = FLAGGED_NAME, state: str = Asset.State.UNACTIVED) -> Asset:
    """An asset held for manual review after processing (machine review matched, state UNACTIVED)."""
    asset = actions.create_asset(Actor.system(tenant.account), tenant.account, name=name, asset_type="IMAGE")
    assert asset.review == (Asset.Review.NEEDS_MANUAL if name == FLAGGED_NAME else Asset.Review.PASSED)
    Asset.objects.filter(pk=asset.pk).update(state=state, reason="waiting for manual review")
    asset.refresh_from_db()
    return asset


def run_action(client, action: str, *assets: Asset, reason: str = ""):
    return client.post(ASSET_LIST, {"action": action, ACTION_CHECKBOX_NAME: [str(a.pk) for a in assets],
                                    "reason": reason}, follow=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_review_queue_lists_flagged_assets(client, reviewer, tenant, other_tenant):
    mine, theirs = flagged(tenant), flagged(other_tenant)
    client.force_login(reviewer)
    response = client.get(f"{ASSET_LIST}?review__exact=NEEDS_MANUAL")
    assert response.status_code == 200
    assert {asset.pk for asset in response.context["cl"].result_list} == {mine.pk, theirs.pk}
    assert client.get(f"{ASSET_LIST}{mine.pk}/change/").status_code == 200


def test_reviewer_approves_a_flagged_asset(client, reviewer, tenant):
    asset = flagged(tenant)
    client.force_login(reviewer)
    response = run_action(client, "approve", asset, reason="a harmless example")
    assert response.status_code == 200
    assert any("1 asset(s) approved" in text for text in messages_of(response))
    asset.refresh_from_db()
    assert asset.state == Asset.State.ACTIVED and asset.review == Asset.Review.PASSED
    assert asset.review_note == "a harmless example"
    review = AuditLog.objects.get(action="asset.review", target_id=str(asset.pk))
    assert review.actor == reviewer and review.via == "admin" and review.detail["approved"] is True
    assert review.account == tenant.account
    assert AuditLog.objects.filter(action="asset.activate", target_id=str(asset.pk)).exists()


def test_approving_does_not_activate_an_asset_the_owner_deactivated(client, reviewer, tenant):
    asset = flagged(tenant)
    Asset.objects.filter(pk=asset.pk).update(reason="")  # deactivated by its owner, not waiting for review
    client.force_login(reviewer)
    run_action(client, "approve", asset)
    asset.refresh_from_db()
    assert asset.review == Asset.Review.PASSED and asset.state == Asset.State.UNACTIVED


def test_reviewer_rejects_a_flagged_asset(client, reviewer, tenant):
    asset = flagged(tenant)
    client.force_login(reviewer)
    response = run_action(client, "reject", asset, reason="violates the content rules")
    assert any("1 asset(s) rejected" in text for text in messages_of(response))
    asset.refresh_from_db()
    assert asset.state == Asset.State.BLOCK and asset.review == Asset.Review.REJECTED
    assert "violates the content rules" in asset.reason and asset.previous_state == Asset.State.UNACTIVED
    review = AuditLog.objects.get(action="asset.review", target_id=str(asset.pk))
    assert review.detail == {"approved": False, "note": "violates the content rules"} and review.actor == reviewer
    assert AuditLog.objects.filter(action="asset.freeze", target_id=str(asset.pk), actor=reviewer).exists()


def test_reject_without_reason_gets_a_default_one(client, reviewer, tenant):
    asset = flagged(tenant)
    client.force_login(reviewer)
    run_action(client, "reject", asset)
    asset.refresh_from_db()
    assert asset.state == Asset.State.BLOCK and asset.reason


def test_freeze_and_unfreeze(client, reviewer, tenant):
    asset = flagged(tenant, name="ordinary", state=Asset.State.ACTIVED)
    other = flagged(tenant, name="ordinary two", state=Asset.State.ACTIVED)
    client.force_login(reviewer)
    response = run_action(client, "freeze_assets", asset, other, reason="complaint 42")
    assert any("2 asset(s) frozen" in text for text in messages_of(response))
    asset.refresh_from_db()
    assert asset.state == Asset.State.BLOCK and asset.reason == "complaint 42"
    freeze = AuditLog.objects.get(action="asset.freeze", target_id=str(asset.pk))
    assert freeze.detail == {"reason": "complaint 42"} and freeze.actor == reviewer

    # freezing again reports the error per asset, and changes nothing
    response = run_action(client, "freeze_assets", asset, reason="again")
    assert any("already frozen" in text for text in messages_of(response))
    asset.refresh_from_db()
    assert asset.reason == "complaint 42"

    response = run_action(client, "unfreeze_assets", asset, reason="appeal granted")
    assert any("1 asset(s) unfrozen" in text for text in messages_of(response))
    asset.refresh_from_db()
    assert asset.state == Asset.State.ACTIVED and asset.reason == ""
    unfreeze = AuditLog.objects.get(action="asset.unfreeze", target_id=str(asset.pk))
    assert unfreeze.detail == {"reason": "appeal granted"} and unfreeze.actor == reviewer
    assert actions.ensure_usable(asset) == asset
    response = run_action(client, "unfreeze_assets", asset)
    assert any("not frozen" in text for text in messages_of(response))


def test_reviewer_cannot_add_or_delete_or_edit_fields(client, reviewer, tenant):
    asset = flagged(tenant)
    client.force_login(reviewer)
    assert client.get(f"{ASSET_LIST}add/").status_code == 403
    assert client.get(f"{ASSET_LIST}{asset.pk}/delete/").status_code == 403
    response = client.post(f"{ASSET_LIST}{asset.pk}/change/", {"name": "renamed", "state": "ACTIVED"})
    asset.refresh_from_db()
    assert asset.name == FLAGGED_NAME and asset.state == Asset.State.UNACTIVED, response.status_code
    assert run_action(client, "delete_selected", asset).status_code in (200, 403)
    assert Asset.objects.filter(pk=asset.pk).exists()


def test_auditor_cannot_change_assets(client, auditor, tenant):
    asset = flagged(tenant)
    client.force_login(auditor)
    assert client.get(ASSET_LIST).status_code == 403
    before = AuditLog.objects.count()
    for action in ("approve", "reject", "freeze_assets", "unfreeze_assets"):
        response = client.post(ASSET_LIST, {"action": action, ACTION_CHECKBOX_NAME: [str(asset.pk)]})
        assert response.status_code == 403
    asset.refresh_from_db()
    assert asset.state == Asset.State.UNACTIVED and asset.review == Asset.Review.NEEDS_MANUAL
    assert AuditLog.objects.count() == before


def test_tenant_users_cannot_reach_the_queue(client, tenant):
    client.force_login(tenant.owner)
    response = client.get(ASSET_LIST)
    assert response.status_code in (302, 403)
