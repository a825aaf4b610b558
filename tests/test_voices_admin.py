"""Manual review of voice training material in the back office: reviewers list jobs waiting for review, listen
to the recordings, open the authorization letter, approve (training is queued) or reject with a reason;
auditors can look but not decide."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from metastudio import jobs
from tenancy.audit import Actor
from tenancy.models import AuditLog
from tests import voice_samples as vs
from tests.api_helpers import fast_password_hashing  # noqa: F401
from tests.test_assets_admin import auditor, messages_of, reviewer  # noqa: F401
from voices import actions
from voices.models import VoiceTrainingJob

JOB_LIST = "/admin/voices/voicetrainingjob/"


@pytest.fixture(autouse=True)
def _no_asr(settings):
    settings.VOICE_CHECK_ASR = False


@pytest.fixture
def waiting(tenant, tmp_path) -> VoiceTrainingJob:
    """A BASIC job through system audit, waiting for a reviewer (AUDITING)."""
    actor = Actor.system(tenant.account)
    job = actions.create_training_job(actor, tenant.account, tier="BASIC", voice_name="Reviewed", language="en")
    package = tmp_path / "set.zip"
    package.write_bytes(vs.recordings_zip(job.prompts))
    actions.upload_package(actor, job, package, "set.zip", tmp_path)
    actions.upload_authorization_letter(actor, job, vs.PDF_LETTER, "letter.pdf")
    job = actions.submit(actor, job)
    assert jobs.run(str(job.engine_job_id)) == "done"
    job.refresh_from_db()
    assert job.state == "AUDITING"
    return job


def decide(client, action: str, job, reason: str = ""):
    return client.post(JOB_LIST, {"action": action, ACTION_CHECKBOX_NAME: [str(job.pk)], "reason": reason},
                       follow=True)


def test_reviewer_listens_reads_the_letter_and_approves(client, reviewer, waiting):  # noqa: F811
    client.force_login(reviewer)
    listing = client.get(f"{JOB_LIST}?state__exact=AUDITING")
    assert listing.status_code == 200 and "Reviewed" in listing.content.decode()
    page = client.get(f"{JOB_LIST}{waiting.pk}/change/").content.decode()
    recording = waiting.recordings.get(index=1)
    assert f"/admin/voices/voicetrainingjob/recording/{recording.pk}" in page and "open the letter" in page
    audio = client.get(f"/admin/voices/voicetrainingjob/recording/{recording.pk}")
    assert audio.status_code == 200 and b"".join(audio.streaming_content)[:4] == b"RIFF"
    letter = client.get(f"/admin/voices/voicetrainingjob/letter/{waiting.pk}")
    assert b"".join(letter.streaming_content).startswith(b"%PDF")
    response = decide(client, "approve", waiting, "letter and voice match")
    assert any("training queued" in message for message in messages_of(response))
    waiting.refresh_from_db()
    assert waiting.state == "WAITING" and waiting.admin_audit["reviewer"] == reviewer.username
    assert waiting.engine_job.kind == "voice_train" and waiting.engine_job.state == "WAITING"
    entry = AuditLog.objects.get(action="voice_training.approve", target_id=str(waiting.pk))
    assert entry.actor == reviewer and entry.via == "admin"


def test_reject_needs_a_reason_and_tells_the_tenant(client, reviewer, waiting):  # noqa: F811
    client.force_login(reviewer)
    decide(client, "reject", waiting, "the letter is not signed")
    waiting.refresh_from_db()
    assert waiting.state == "AUDIT_FAILED" and "not signed" in waiting.reason
    assert waiting.logs.filter(operation="ADMIN_REJECTED").exists()


def test_a_decided_job_cannot_be_decided_again(client, reviewer, waiting):  # noqa: F811
    client.force_login(reviewer)
    decide(client, "approve", waiting)
    response = decide(client, "reject", waiting, "too late")
    assert any("AUDITING" in message for message in messages_of(response))
    waiting.refresh_from_db()
    assert waiting.state == "WAITING"


def test_auditor_can_look_but_not_decide(client, auditor, waiting):  # noqa: F811
    client.force_login(auditor)
    assert client.get(JOB_LIST).status_code == 403
    assert client.get(f"/admin/voices/voicetrainingjob/letter/{waiting.pk}").status_code == 403
    waiting.refresh_from_db()
    assert waiting.state == "AUDITING"
