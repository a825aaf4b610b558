"""Manual review of avatar training material in the back office: reviewers see the video check report, play the
training video (served with Range support through a protected admin view), open the authorization letter and the
ID images, then approve (training is queued), send back with a reason, or refuse for good; auditors cannot."""

from pathlib import Path

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from avatars import actions
from avatars.models import AvatarTrainingJob
from tenancy.audit import Actor
from tenancy.models import AuditLog
from tests import media_samples as ms
from tests.api_helpers import fast_password_hashing  # noqa: F401
from tests.test_assets_admin import auditor, messages_of, reviewer  # noqa: F401

JOB_LIST = "/admin/avatars/avatartrainingjob/"
PASSED_REPORT = {
    "passed": True, "width": 1920, "height": 1080, "fps": 25.0, "duration_s": 190.0, "has_audio": True,
    "green_screen": False, "warnings": ["the light is a little uneven"],
    "rules": [{"rule": "resolution", "status": "pass", "message": "1920x1080", "value": [1920, 1080]},
              {"rule": "lighting", "status": "warn", "message": "the light is a little uneven", "value": 0.3}],
}


@pytest.fixture
def waiting(tenant, tmp_path) -> AvatarTrainingJob:
    """A job whose video passed the check, waiting for a reviewer (MANUAL_VERIFYING)."""
    actor = Actor.system(tenant.account)
    job = actions.create_training_job(actor, tenant.account, name="Reviewed Anna", project=tenant.project)
    actions.upload_file(actor, job, "TRAINING_VIDEO", ms.make_video(tmp_path / "talk.mp4", seconds=2), "talk.mp4")
    actions.upload_file(actor, job, "GRANT_FILE", ms.make_pdf(tmp_path / "letter.pdf", pages=1), "letter.pdf")
    actions.upload_file(actor, job, "ID_CARD_IMAGE1", ms.make_image(tmp_path / "front.png", (160, 100)))
    job = actions.submit(actor, job)
    job = actions.finish_video_check(job.pk, PASSED_REPORT)
    assert job.state == "MANUAL_VERIFYING"
    return job


def decide(client, action: str, job, reason: str = ""):
    return client.post(JOB_LIST, {"action": action, ACTION_CHECKBOX_NAME: [str(job.pk)], "reason": reason},
                       follow=True)


def test_reviewer_sees_the_report_plays_the_video_and_approves(client, reviewer, waiting):  # noqa: F811
    client.force_login(reviewer)
    listing = client.get(f"{JOB_LIST}?state__exact=MANUAL_VERIFYING")
    assert listing.status_code == 200 and "Reviewed Anna" in listing.content.decode()
    page = client.get(f"{JOB_LIST}{waiting.pk}/change/").content.decode()
    video_url = f"{JOB_LIST}file/{waiting.pk}/training_video"
    assert f'<video controls preload="metadata" width="480" src="{video_url}"' in page
    assert f"{JOB_LIST}file/{waiting.pk}/grant_file" in page and "open the letter" in page
    assert f"{JOB_LIST}file/{waiting.pk}/id_card_image1" in page
    assert "the light is a little uneven" in page and "1920x1080" in page
    video = client.get(video_url)
    assert video.status_code == 200 and video["Content-Type"] == "video/mp4"
    data = b"".join(video.streaming_content)
    assert data == Path(waiting.training_video.path).read_bytes()
    piece = client.get(video_url, HTTP_RANGE="bytes=4-11")
    assert piece.status_code == 206 and piece["Content-Range"] == f"bytes 4-11/{len(data)}"
    assert b"".join(piece.streaming_content) == data[4:12] and data[4:8] == b"ftyp"
    tail = client.get(video_url, HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and b"".join(tail.streaming_content) == data[-10:]
    assert client.get(video_url, HTTP_RANGE=f"bytes={len(data) + 5}-").status_code == 416
    letter = client.get(f"{JOB_LIST}file/{waiting.pk}/grant_file")
    assert b"".join(letter.streaming_content).startswith(b"%PDF")
    assert client.get(f"{JOB_LIST}file/{waiting.pk}/id_card_image2").status_code == 404
    assert client.get(f"{JOB_LIST}file/{waiting.pk}/account").status_code == 404
    response = decide(client, "approve", waiting, "letter, ID and face match")
    assert any("training queued" in message for message in messages_of(response))
    waiting.refresh_from_db()
    assert waiting.state == "MANUAL_VERIFY_SUCCESS" and waiting.admin_audit["reviewer"] == reviewer.username
    assert waiting.engine_job.kind == "avatars.train" and waiting.engine_job.state == "WAITING"
    assert waiting.logs.filter(log_type="ADMIN_VERIFY_SUCCESS", operate_user="ADMIN").exists()
    entry = AuditLog.objects.get(action="avatar_training.approve", target_id=str(waiting.pk))
    assert entry.actor == reviewer and entry.via == "admin"


def test_reject_needs_a_reason_and_sends_the_job_back(client, reviewer, waiting):  # noqa: F811
    client.force_login(reviewer)
    response = decide(client, "reject", waiting)
    assert any("say why" in message for message in messages_of(response))
    waiting.refresh_from_db()
    assert waiting.state == "MANUAL_VERIFYING"
    decide(client, "reject", waiting, "the letter is not signed")
    waiting.refresh_from_db()
    assert waiting.state == "MANUAL_VERIFY_FAILED" and "not signed" in waiting.reason
    assert waiting.editable  # the tenant can upload a new letter and submit again
    assert waiting.logs.filter(log_type="ADMIN_VERIFY_FAILED").exists()


def test_refuse_for_good_is_final(client, reviewer, waiting, tmp_path):  # noqa: F811
    client.force_login(reviewer)
    decide(client, "reject_for_good", waiting, "the ID does not match the person")
    waiting.refresh_from_db()
    assert waiting.state == "JOB_REJECT" and waiting.admin_audit["final"] and waiting.finished_at
    actor = Actor.system(waiting.account)
    with pytest.raises(Exception, match="JOB_REJECT"):
        actions.submit(actor, waiting)
    with pytest.raises(Exception, match="JOB_REJECT"):
        actions.upload_file(actor, waiting, "GRANT_FILE", ms.make_pdf(tmp_path / "again.pdf", pages=1))


def test_a_decided_job_cannot_be_decided_again(client, reviewer, waiting):  # noqa: F811
    client.force_login(reviewer)
    decide(client, "approve", waiting)
    response = decide(client, "reject", waiting, "too late")
    assert any("MANUAL_VERIFYING" in message for message in messages_of(response))
    waiting.refresh_from_db()
    assert waiting.state == "MANUAL_VERIFY_SUCCESS"


def test_auditor_can_neither_see_the_material_nor_decide(client, auditor, waiting):  # noqa: F811
    client.force_login(auditor)
    assert client.get(JOB_LIST).status_code == 403
    assert client.get(f"{JOB_LIST}file/{waiting.pk}/training_video").status_code == 403
    decide(client, "approve", waiting)
    waiting.refresh_from_db()
    assert waiting.state == "MANUAL_VERIFYING"
