"""Avatar training API (digital-human-training-manage): jobs, signed upload URLs (whole, resumable pieces,
multipart video), what a submit needs, commands, states, tenant isolation and IAM. The media are small files
made with ffmpeg / Pillow (tests/media_samples.py); the video check and training themselves are in
test_avatars_tasks.py."""

import hashlib
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from avatars.models import AvatarTrainingJob, AvatarUpload
from metastudio import jobs
from tenancy.audit import Actor
from tenancy.models import AuditLog
from tests import media_samples as ms
from tests.api_helpers import assert_error, fast_password_hashing, send_json  # noqa: F401


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("avatar-media")
    return {
        "video": ms.make_video(folder / "talk.mp4", size="320x240", seconds=2).read_bytes(),
        "png": ms.make_image(folder / "id.png", (200, 120)).read_bytes(),
        "jpg": ms.make_image(folder / "cover.jpg", (200, 120), fmt="JPEG").read_bytes(),
        "pdf": ms.make_pdf(folder / "letter.pdf", pages=1).read_bytes(),
    }


def base(t) -> str:
    return f"/v1/{t.project_id}/digital-human-training-manage/user/jobs"


def create(api, t, **body) -> dict:
    response = send_json(api(t.owner), "POST", base(t), {"name": "Anna", **body})
    assert response.status_code == 201, response.content
    return response.json()


def put(client, url: str, data: bytes, content_range: str | None = None):
    extra = {"HTTP_CONTENT_RANGE": content_range} if content_range else {}
    return client.generic("PUT", url.replace("http://testserver", ""), data,
                          content_type="application/octet-stream", **extra)


def command(client, t, job_id: str, name, **body):
    return send_json(client, "POST", f"{base(t)}/{job_id}/command", {"command": name, **body})


def detail(api, t, job_id: str) -> dict:
    response = api(t.owner).get(f"{base(t)}/{job_id}")
    assert response.status_code == 200, response.content
    return response.json()


def ready(api, t, media, **body) -> dict:
    """A job with its training video and authorization letter uploaded."""
    job = create(api, t, **body)
    client = api(t.owner)
    assert put(client, job["training_video_upload_url"][0], media["video"]).status_code == 200
    assert put(client, job["grant_file_upload_url"], media["pdf"]).status_code == 200
    return job


# --- creating, listing, showing ----------------------------------------------------------------------------

def test_create_answers_the_upload_urls_and_the_job_waits_for_files(api, tenant):
    job = create(api, tenant, contact="anna@example.com", batch_name="spring", tags=["sales", "sales", "cn"])
    assert job["state"] == "WAIT_FILE_UPLOAD"
    assert len(job["training_video_upload_url"]) == 1
    for field in ("grant_file", "id_card_image1", "id_card_image2", "cover"):
        assert "/avatar-uploads/" in job[f"{field}_upload_url"] and "token=" in job[f"{field}_upload_url"]
    shown = detail(api, tenant, job["job_id"])
    assert shown["name"] == "Anna" and shown["tags"] == ["sales", "cn"] and shown["batch_name"] == "spring"
    assert shown["project_id"] == tenant.project_id and shown["model_version"] == "V3"
    assert shown["phase"] == "WAIT_SUBMIT" and shown["progress"] == 0 and shown["asset_id"] is None
    assert any(item.startswith("training_video") for item in shown["missing"])
    assert any(item.startswith("grant_file") for item in shown["missing"])
    assert shown["create_time"].endswith("Z")
    assert [entry["log_type"] for entry in shown["operation_logs"]] == ["USER_CREATE_JOB"]
    assert shown["operation_logs"][0]["operate_user"] == "USER"
    listed = api(tenant.member).get(base(tenant)).json()
    assert listed["count"] == 1 and listed["jobs"][0]["job_id"] == job["job_id"]
    assert AuditLog.objects.filter(action="avatar_training.create", target_id=job["job_id"]).exists()


@pytest.mark.parametrize("body, field", [
    ({"name": ""}, "name"),
    ({"name": "x" * 257}, "name"),
    ({"name": None}, "name"),
    ({"tags": "sales"}, "tags"),
    ({"tags": ["ok", "t" * 65]}, "tags[1]"),
    ({"video_multipart_count": 0}, "video_multipart_count"),
    ({"video_multipart_count": 1001}, "video_multipart_count"),
    ({"video_multipart_count": "2"}, "video_multipart_count"),
    ({"is_background_replacement": "yes"}, "is_background_replacement"),
    ({"model_version": "V9"}, "model_version"),
    ({"contact": "c" * 129}, "contact"),
    ({"batch_name": "b" * 65}, "batch_name"),
    ({"action_segments": {"name": "wave"}}, "action_segments"),
    ({"action_segments": [{"name": "", "start_time": 1, "end_time": 2}]}, "action_segments[0].name"),
    ({"action_segments": [{"name": "wave", "start_time": 1, "end_time": 2},
                          {"name": "wave", "start_time": 3, "end_time": 4}]}, "action_segments[1].name"),
    ({"action_segments": [{"name": "wave", "start_time": -1, "end_time": 2}]}, "action_segments[0].start_time"),
    ({"action_segments": [{"name": "wave", "start_time": 1, "end_time": 1.2}]}, "action_segments[0].end_time"),
])
def test_create_refuses_bad_fields(api, tenant, body, field):
    response = send_json(api(tenant.owner), "POST", base(tenant), {"name": "Anna", **body})
    assert_error(response, 400, "MSS.00000003", f"{field}:")
    assert not AvatarTrainingJob.objects.exists()


def test_marked_actions_are_kept_and_can_be_changed(api, tenant):
    segments = [{"name": "wave", "start_time": 12, "end_time": 15.5}]
    job = create(api, tenant, action_segments=segments)
    path = f"{base(tenant)}/{job['job_id']}"
    assert api(tenant.owner).get(path).json()["action_segments"] == [
        {"name": "wave", "start_time": 12.0, "end_time": 15.5}]
    response = send_json(api(tenant.owner), "PUT", path, {"action_segments": []})
    assert response.status_code == 200
    assert api(tenant.owner).get(path).json()["action_segments"] == []


def test_body_must_be_an_object(api, tenant):
    response = api(tenant.owner).post(base(tenant), "[1, 2]", content_type="application/json")
    assert_error(response, 400, "MSS.00000003", "body")


def test_personal_accounts_cannot_make_avatars(api, db):
    from tests.factories import make_tenant

    personal = make_tenant(is_enterprise=False)
    response = send_json(api(personal.owner), "POST", base(personal), {"name": "Anna"})
    assert_error(response, 403, "MSS.00000005", "enterprise")
    assert not AvatarTrainingJob.objects.exists()


def test_read_only_member_reads_but_cannot_change(api, tenant):
    job = create(api, tenant)
    member, path = api(tenant.member), f"{base(tenant)}/{job['job_id']}"
    assert member.get(path).status_code == 200
    for method, url, action in (("POST", base(tenant), "metastudio:avatar:create"),
                                ("PUT", path, "metastudio:avatar:update"),
                                ("DELETE", path, "metastudio:avatar:delete"),
                                ("POST", f"{path}/command", "metastudio:avatar:command")):
        assert_error(send_json(member, method, url, {"name": "x", "command": "SUBMITVERIFYING"}), 403,
                     "MSS.00000005", action)
    assert_error(api(tenant.nobody).get(base(tenant)), 403, "MSS.00000005", "metastudio:avatar:show")
    assert AvatarTrainingJob.objects.count() == 1


def test_other_tenants_job_does_not_exist(api, tenant, other_tenant, media):
    job = create(api, tenant)
    outsider, path = api(other_tenant.owner), f"{base(other_tenant)}/{job['job_id']}"
    for method in ("GET", "PUT", "DELETE"):
        assert_error(send_json(outsider, method, path, {"name": "mine now"}), 404, "MSS.00000004")
    assert_error(command(outsider, other_tenant, job["job_id"], "SUBMITVERIFYING"), 404, "MSS.00000004")
    assert_error(outsider.get(f"/v1/{tenant.project_id}/digital-human-training-manage/user/jobs"), 404,
                 "MSS.00000002")
    assert outsider.get(base(other_tenant)).json()["count"] == 0
    assert AvatarTrainingJob.objects.get(pk=job["job_id"]).name == "Anna"


def test_list_filters_and_sorting(api, tenant):
    first = create(api, tenant, name="Alpha", batch_name="b1", tags=["red"])
    second = create(api, tenant, name="Beta", batch_name="b2", tags=["blue"])
    client = api(tenant.owner)

    def ids(query: str) -> list[str]:
        response = client.get(f"{base(tenant)}?{query}")
        assert response.status_code == 200, response.content
        return [job["job_id"] for job in response.json()["jobs"]]

    assert ids("") == [first["job_id"], second["job_id"]]  # MetaStudio's default: oldest first
    assert ids("sort_dir=desc") == [second["job_id"], first["job_id"]]
    assert ids("name=alp") == [first["job_id"]]
    assert ids("batch_name=b2") == [second["job_id"]]
    assert ids("tag=blue") == [second["job_id"]]
    assert ids(f"job_id={first['job_id']}") == [first["job_id"]]
    assert ids("job_id=nonsense") == []
    assert ids("state=WAIT_FILE_UPLOAD,JOB_SUCCESS") == [first["job_id"], second["job_id"]]
    assert ids("state=JOB_SUCCESS") == []
    assert ids("create_since=2000-01-01T00:00:00Z&create_until=2999-01-01T00:00:00Z&limit=1") == [first["job_id"]]
    assert_error(client.get(f"{base(tenant)}?sort_key=name"), 400, "MSS.00000003", "sort_key")
    assert_error(client.get(f"{base(tenant)}?sort_dir=up"), 400, "MSS.00000003", "sort_dir")
    assert_error(client.get(f"{base(tenant)}?create_since=yesterday"), 400, "MSS.00000003", "create_since")
    assert_error(client.get(f"{base(tenant)}?limit=0"), 400, "MSS.00000003", "limit")


# --- uploads -------------------------------------------------------------------------------------------

def test_files_arrive_through_signed_urls(api, tenant, media):
    job = create(api, tenant)
    anonymous = api()  # a signed URL needs no other credentials
    for field, data in (("grant_file", media["pdf"]), ("id_card_image1", media["png"]),
                        ("id_card_image2", media["jpg"]), ("cover", media["jpg"])):
        response = put(anonymous, job[f"{field}_upload_url"], data)
        assert response.status_code == 200, response.content
        assert response.json()["state"] == "UPLOADED" and response["Upload-Offset"] == str(len(data))
    response = put(anonymous, job["training_video_upload_url"][0], media["video"])
    assert response.status_code == 200, response.content
    assert response.json()["etag"] == hashlib.md5(media["video"]).hexdigest()
    shown = detail(api, tenant, job["job_id"])
    assert all(item["uploaded"] for item in shown["files"].values()), shown["files"]
    assert shown["missing"] == []
    stored = AvatarTrainingJob.objects.get(pk=job["job_id"])
    assert default_storage.open(stored.training_video.name).read() == media["video"]
    assert stored.training_video.name.endswith(".mp4") and stored.grant_file.name.endswith(".pdf")
    assert not list(Path(str(stored.training_video.storage.path(""))).parent.glob("uploads/*.part"))


def test_upload_url_takes_one_file_and_is_signed(api, tenant, media, django_capture_on_commit_callbacks):
    job = create(api, tenant)
    client, url = api(), job["grant_file_upload_url"]
    assert put(client, url, media["pdf"]).status_code == 200
    assert_error(put(client, url, media["pdf"]), 409, "MSS.00000007", "grant_file", "already received")
    forged = url.split("?token=")[0] + "?token=forged"
    assert_error(put(client, forged, media["pdf"]), 404, "MSS.00000004")
    assert_error(put(client, "/avatar-uploads/not-a-uuid?token=x", media["pdf"]), 404, "MSS.00000004")
    response = client.get(url.replace("http://testserver", ""))
    assert response.status_code == 405 and response.json()["error_code"] == "MSS.00000008"
    # a fresh URL (PUT the job) replaces the letter
    again = send_json(api(tenant.owner), "PUT", f"{base(tenant)}/{job['job_id']}", {}).json()
    assert again["grant_file_upload_url"] != url
    old_name = AvatarTrainingJob.objects.get(pk=job["job_id"]).grant_file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert put(client, again["grant_file_upload_url"], media["png"]).status_code == 200
    replaced = AvatarTrainingJob.objects.get(pk=job["job_id"])
    assert replaced.grant_file.name.endswith(".png") and not default_storage.exists(old_name)


@pytest.mark.parametrize("field, sample, words", [
    ("training_video", "png", "must be an MP4 or MOV video"),
    ("training_video", "garbage", "must be an MP4 or MOV video"),
    ("grant_file", "video", "must be a PDF, PNG or JPG document"),
    ("id_card_image1", "pdf", "must be a PNG or JPG image"),
    ("cover", "garbage", "must be a PNG or JPG image"),
])
def test_a_file_that_is_not_what_its_slot_takes_is_refused(api, tenant, media, field, sample, words):
    job = create(api, tenant)
    url = job[f"{field}_upload_url"]
    url = url[0] if isinstance(url, list) else url
    data = media.get(sample, b"\x00\x01 this is not a media file " * 40)
    assert_error(put(api(), url, data), 400, "MSS.00000003", f"{field}:", words)
    upload = AvatarUpload.objects.get(job_id=job["job_id"], slot=field.upper())
    assert upload.state == "FAILED" and words in upload.reason
    if field == "training_video":
        assert any("refused" in item for item in detail(api, tenant, job["job_id"])["missing"])
    # the same URL takes a right file afterwards
    good = {"training_video": "video", "grant_file": "pdf", "id_card_image1": "png", "cover": "jpg"}[field]
    assert put(api(), url, media[good]).status_code == 200


def test_too_big_or_empty_uploads_are_refused(api, tenant, media, settings):
    settings.AVATAR_IMAGE_MAX_BYTES = 1000
    job = create(api, tenant)
    url = job["grant_file_upload_url"]
    assert_error(put(api(), url, b"%PDF" + b"0" * 2000), 400, "MSS.00000003", "grant_file", "at most 1000 bytes")
    assert_error(put(api(), url, b"%PDF", "bytes 0-3/5000"), 400, "MSS.00000003", "grant_file", "at most 1000")
    assert_error(put(api(), url, b""), 400, "MSS.00000003", "grant_file", "empty")
    assert_error(put(api(), url, b"%PDF", "bytes zero"), 400, "MSS.00000003", "Content-Range")
    assert not AvatarTrainingJob.objects.get(pk=job["job_id"]).grant_file


def test_video_upload_resumes_in_pieces(api, tenant, media):
    job = create(api, tenant)
    client, url, data = api(), job["training_video_upload_url"][0], media["video"]
    total, half = len(data), len(data) // 2
    first = put(client, url, data[:half], f"bytes 0-{half - 1}/{total}")
    assert first.status_code == 200 and first.json()["state"] == "UPLOADING"
    assert client.head(url.replace("http://testserver", ""))["Upload-Offset"] == str(half)
    assert_error(put(client, url, data[10:half], f"bytes 10-{half - 1}/{total}"), 409, "MSS.00000007",
                 f"resume at byte {half}")
    assert_error(put(client, url, data[half:], f"bytes {half}-{total - 1}/{total + 1}"), 400, "MSS.00000003",
                 "Content-Range")
    last = put(client, url, data[half:], f"bytes {half}-{total - 1}/{total}")
    assert last.status_code == 200 and last.json()["state"] == "UPLOADED", last.content
    assert last.json()["etag"] == hashlib.md5(data).hexdigest()
    stored = AvatarTrainingJob.objects.get(pk=job["job_id"]).training_video
    assert default_storage.open(stored.name).read() == data


def test_video_in_parts_is_joined_in_order(api, tenant, media):
    job = create(api, tenant, video_multipart_count=3)
    client, data, urls = api(tenant.owner), media["video"], job["training_video_upload_url"]
    assert len(urls) == 3
    size = len(data) // 3 + 1
    parts = [data[i * size:(i + 1) * size] for i in range(3)]
    assert put(api(), urls[0], parts[0]).status_code == 200
    assert put(api(), urls[2], parts[2]).status_code == 200
    listed = command(client, tenant, job["job_id"], "GET_MULTIPART_UPLOADED").json()
    assert listed["commond_result"] == "SUCCESS"
    assert listed["multipart_data"] == [{"part_number": "1", "etag": hashlib.md5(parts[0]).hexdigest()},
                                        {"part_number": "3", "etag": hashlib.md5(parts[2]).hexdigest()}]
    assert "parts 2 of 3 not uploaded" in " ".join(detail(api, tenant, job["job_id"])["missing"])
    assert_error(command(client, tenant, job["job_id"], "CONFIRM_MULTIPART_UPLOADED"), 400, "MSS.00000003",
                 "training_video", "parts 2 of 3 have not arrived")
    assert put(api(), urls[1], parts[1]).status_code == 200
    confirmed = command(client, tenant, job["job_id"], "CONFIRM_MULTIPART_UPLOADED")
    assert confirmed.status_code == 200 and confirmed.json()["commond_result"] == "SUCCESS"
    stored = AvatarTrainingJob.objects.get(pk=job["job_id"])
    assert default_storage.open(stored.training_video.name).read() == data
    assert detail(api, tenant, job["job_id"])["files"]["training_video"]["uploaded"]


def test_parts_that_do_not_make_a_video_are_refused_on_confirm(api, tenant, media):
    job = create(api, tenant, video_multipart_count=2)
    for url in job["training_video_upload_url"]:
        assert put(api(), url, b"not a video at all " * 50).status_code == 200  # a part is only bytes
    response = command(api(tenant.owner), tenant, job["job_id"], "CONFIRM_MULTIPART_UPLOADED")
    assert_error(response, 400, "MSS.00000003", "training_video", "must be an MP4 or MOV video")
    assert not AvatarTrainingJob.objects.get(pk=job["job_id"]).training_video


def test_update_video_gives_new_urls_and_drops_the_old_video(api, tenant, media,
                                                             django_capture_on_commit_callbacks):
    job = ready(api, tenant, media)
    client, path = api(tenant.owner), f"{base(tenant)}/{job['job_id']}"
    old_video = AvatarTrainingJob.objects.get(pk=job["job_id"]).training_video.name
    with django_capture_on_commit_callbacks(execute=True):
        updated = send_json(client, "PUT", path, {"name": "Anna B", "command_message": "UPDATE_VIDEO",
                                                  "video_multipart_count": 2, "tags": ["new"]})
    assert updated.status_code == 200, updated.content
    body = updated.json()
    assert len(body["training_video_upload_url"]) == 2
    assert_error(put(api(), job["training_video_upload_url"][0], media["video"]), 404, "MSS.00000004")
    shown = detail(api, tenant, job["job_id"])
    assert shown["name"] == "Anna B" and shown["tags"] == ["new"] and shown["video_multipart_count"] == 2
    assert not shown["files"]["training_video"]["uploaded"] and shown["files"]["grant_file"]["uploaded"]
    assert not default_storage.exists(old_video)
    assert "USER_UPDATE_VIDEO" in [entry["log_type"] for entry in shown["operation_logs"]]
    assert_error(send_json(client, "PUT", path, {"command_message": "REPLACE"}), 400, "MSS.00000003",
                 "command_message")
    assert_error(send_json(client, "PUT", path, {"name": ""}), 400, "MSS.00000003", "name")


# --- submitting -------------------------------------------------------------------------------------------

def test_submit_names_each_missing_file(api, tenant, media):
    job = create(api, tenant)
    client = api(tenant.owner)
    body = assert_error(command(client, tenant, job["job_id"], "SUBMITVERIFYING"), 400, "MSS.00000003",
                        "training_video", "grant_file", "authorization letter")
    assert "not ready" in body["error_msg"]
    assert put(api(), job["grant_file_upload_url"], media["pdf"]).status_code == 200
    body = assert_error(command(client, tenant, job["job_id"], "SUBMITVERIFYING"), 400, "MSS.00000003",
                        "training_video")
    assert "grant_file" not in body["error_msg"]
    assert AvatarTrainingJob.objects.get(pk=job["job_id"]).state == "WAIT_FILE_UPLOAD"
    assert not jobs.Job.objects.filter(kind="avatars.check").exists()


def test_submit_starts_the_video_check_and_locks_the_job(api, tenant, media):
    job = ready(api, tenant, media)
    client, path = api(tenant.owner), f"{base(tenant)}/{job['job_id']}"
    response = command(client, tenant, job["job_id"], "SUBMITVERIFYING",
                       comment_data={"comment_title": "hello", "comment_message": "please be quick"})
    assert response.status_code == 200, response.content
    assert response.json() == {"job_id": job["job_id"], "commond_result": "SUCCESS", "state": "AUTO_VERIFYING"}
    stored = AvatarTrainingJob.objects.get(pk=job["job_id"])
    assert stored.engine_job.kind == "avatars.check" and stored.engine_job.state == "WAITING"
    assert stored.engine_job.params == {"avatar_job_id": job["job_id"]}
    shown = detail(api, tenant, job["job_id"])
    assert shown["state"] == "AUTO_VERIFYING" and shown["phase"] == "VERIFYING" and shown["stage"] == "waiting"
    assert shown["comment_logs"][0]["comment_message"] == "hello: please be quick"
    assert_error(command(client, tenant, job["job_id"], "SUBMITVERIFYING"), 409, "MSS.00000007", "AUTO_VERIFYING")
    assert_error(send_json(client, "PUT", path, {"name": "late"}), 409, "MSS.00000007")
    assert_error(send_json(client, "DELETE", path), 409, "MSS.00000007")
    assert_error(put(api(), job["cover_upload_url"], media["jpg"]), 409, "MSS.00000007", "cover")
    assert AuditLog.objects.filter(action="avatar_training.submit", target_id=job["job_id"]).exists()


def test_submit_joins_parts_that_all_arrived(api, tenant, media):
    job = create(api, tenant, video_multipart_count=2)
    half = len(media["video"]) // 2
    put(api(), job["training_video_upload_url"][0], media["video"][:half])
    put(api(), job["training_video_upload_url"][1], media["video"][half:])
    put(api(), job["grant_file_upload_url"], media["pdf"])
    response = command(api(tenant.owner), tenant, job["job_id"], "SUBMITVERIFYING")
    assert response.status_code == 200 and response.json()["state"] == "AUTO_VERIFYING", response.content
    stored = AvatarTrainingJob.objects.get(pk=job["job_id"])
    assert default_storage.open(stored.training_video.name).read() == media["video"]


def test_a_check_canceled_in_the_task_center_sends_the_job_back(api, tenant, media):
    job = ready(api, tenant, media)
    client = api(tenant.owner)
    command(client, tenant, job["job_id"], "SUBMITVERIFYING")
    engine = AvatarTrainingJob.objects.get(pk=job["job_id"]).engine_job
    jobs.cancel(Actor.system(tenant.account), engine)
    shown = detail(api, tenant, job["job_id"])
    assert shown["state"] == "AUTO_VERIFY_FAILED" and "canceled" in shown["reason"]
    resubmitted = command(client, tenant, job["job_id"], "SUBMITVERIFYING")
    assert resubmitted.status_code == 200 and resubmitted.json()["state"] == "AUTO_VERIFYING"


@pytest.mark.parametrize("body, words", [
    ({}, "command: must be one of SUBMITVERIFYING"),
    ({"command": "LAUNCH"}, "command: must be one of"),
    ({"command": "CONFIRM_ACCEPT"}, "command: CONFIRM_ACCEPT is not offered"),
    ({"command": "SUBMITVERIFYING", "command_message": "NOPE"}, "command_message"),
    ({"command": "SUBMITVERIFYING", "comment_data": "hi"}, "comment_data"),
])
def test_bad_commands_are_refused(api, tenant, body, words):
    job = create(api, tenant)
    response = send_json(api(tenant.owner), "POST", f"{base(tenant)}/{job['job_id']}/command", body)
    assert_error(response, 400, "MSS.00000003", words)


def test_delete_removes_the_job_and_its_material(api, tenant, media, django_capture_on_commit_callbacks):
    job = ready(api, tenant, media)
    stored = AvatarTrainingJob.objects.get(pk=job["job_id"])
    names = [stored.training_video.name, stored.grant_file.name]
    with django_capture_on_commit_callbacks(execute=True):
        assert send_json(api(tenant.owner), "DELETE", f"{base(tenant)}/{job['job_id']}").status_code == 204
    assert not AvatarTrainingJob.objects.exists() and not AvatarUpload.objects.exists()
    assert not any(default_storage.exists(name) for name in names)
    assert_error(api(tenant.owner).get(f"{base(tenant)}/{job['job_id']}"), 404, "MSS.00000004")


def test_rate_limit_of_the_table(api, tenant):
    client = api(tenant.owner)
    answers = [client.get(base(tenant)).status_code for _ in range(25)]  # avatar_training.list: 20/s here
    assert 429 in answers
    limited = client.get(base(tenant))
    if limited.status_code == 429:
        assert limited.json()["error_code"] == "APIGW.0308"
