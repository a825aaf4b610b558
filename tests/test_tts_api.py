"""TTS API: async jobs and auditions (validation before anything is created or charged, output, timestamps,
metering, callbacks), voice catalog, custom readings and vocabulary groups, phonetic symbols; isolation."""

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import soundfile

from assets.models import Asset
from billing.models import UsageRecord
from metastudio import jobs
from tests.api_helpers import assert_error, fast_password_hashing, send_json  # noqa: F401

pytestmark = pytest.mark.timeout(120)
PRESET = "espeak-en-us-f"


def tts(t) -> str:
    return f"/v1/{t.project_id}/ttsc"


def create(api, t, user=None, path="async-jobs", **body):
    body = {"text": "Hello there.", "voice_asset_id": PRESET, **body}
    return send_json(api(user or t.owner), "POST", f"{tts(t)}/{path}", body)


def voice_asset(t, state="ACTIVED"):
    return Asset.objects.create(account=t.account, name="cloned", type=Asset.Type.VOICE_MODEL, state=state,
                                media_info={"voice_tier": "BASIC", "base_voice_id": PRESET, "language": "en"})


def test_async_job_gives_wav_with_word_timestamps_and_meters_characters(api, tenant):
    text = "The meeting starts at 10:30. Bring 3 reports."
    response = create(api, tenant, text=text, need_timestamp=True, sample_rate=24000)
    assert response.status_code == 201, response.content
    job_id = response.json()["job_id"]
    waiting = api(tenant.member).get(f"{tts(tenant)}/async-jobs/{job_id}").json()
    assert waiting["state"] == "WAITING" and waiting["audio_file_url"] is None
    assert jobs.run(job_id) == "done"
    done = api(tenant.member).get(f"{tts(tenant)}/async-jobs/{job_id}").json()
    assert done["state"] == "FINISHED" and done["characters"] == len(text)
    words = done["timestamps"]
    assert [w["word"] for w in words][:3] == ["The", "meeting", "starts"]
    assert all(text[w["text_begin"]:w["text_end"]] == w["word"] for w in words)
    assert all(a["start_time"] <= b["start_time"] for a, b in zip(words, words[1:], strict=False))
    audio = api(tenant.member).get(done["audio_file_url"].split("testserver")[-1])
    data, rate = soundfile.read(io.BytesIO(b"".join(audio.streaming_content)))
    assert rate == 24000 and abs(len(data) / rate - done["duration"]) < 0.01
    assert words[-1]["end_time"] <= done["duration"]
    usage = UsageRecord.objects.get(account=tenant.account)
    assert (usage.resource_type, int(usage.quantity), usage.unit) == ("TTS_CHARACTERS_PRESET", len(text), "characters")


def test_mp3_and_chinese(api, tenant):
    response = create(api, tenant, text="今天是2026年11月27日，气温12℃。", voice_asset_id="espeak-cmn-f",
                      audio_format="MP3")
    job_id = response.json()["job_id"]
    assert jobs.run(job_id) == "done"
    job = jobs.Job.objects.get(pk=job_id)
    assert job.result_file.name.endswith(".mp3") and job.result["duration"] > 2


@pytest.mark.parametrize("body, status, code, fragment", [
    ({"text": ""}, 400, "MSS.00000003", "text"),
    ({"text": "   "}, 400, "MSS.00000003", "text"),
    ({"text": "a" * 100_001}, 400, "MSS.00000003", "100000"),
    ({"text": "<speak>Hello <break time='1s'>world</speak>"}, 400, "MSS.00000003", "line 1"),
    ({"text": "<speak><prosody rate='fast'>x</prosody><blink/></speak>"}, 400, "MSS.00000003", "blink"),
    ({"voice_asset_id": "espeak-nope"}, 404, "MSS.00000004", "voice_asset_id"),
    ({"voice_asset_id": ""}, 400, "MSS.00000003", "voice_asset_id"),
    ({"speed": 49}, 400, "MSS.00000003", "speed"),
    ({"pitch": 201}, 400, "MSS.00000003", "pitch"),
    ({"volume": 89}, 400, "MSS.00000003", "volume"),
    ({"volume": "loud"}, 400, "MSS.00000003", "volume"),
    ({"sample_rate": 12345}, 400, "MSS.00000003", "sample_rate"),
    ({"audio_format": "OGG"}, 400, "MSS.00000003", "audio_format"),
    ({"callback_config": {"callback_url": "ftp://x"}}, 400, "MSS.00000003", "callback_url"),
])
def test_bad_requests_create_nothing_and_charge_nothing(api, tenant, body, status, code, fragment):
    assert_error(create(api, tenant, **body), status, code, fragment)
    assert not jobs.Job.objects.exists() and not UsageRecord.objects.exists()


def test_voice_of_another_tenant_or_frozen_or_unknown(api, tenant, other_tenant):
    theirs = voice_asset(other_tenant)
    assert_error(create(api, tenant, voice_asset_id=str(theirs.pk)), 404, "MSS.00000004", "voice_asset_id")
    frozen = voice_asset(tenant, state="BLOCK")
    assert_error(create(api, tenant, voice_asset_id=str(frozen.pk)), 409, "MSS.00000007", "frozen")
    assert not jobs.Job.objects.exists()


def test_voice_frozen_after_submit_fails_the_job_without_charge(api, tenant):
    mine = voice_asset(tenant)
    job_id = create(api, tenant, voice_asset_id=str(mine.pk)).json()["job_id"]
    Asset.objects.filter(pk=mine.pk).update(state="BLOCK")
    assert jobs.run(job_id) == "failed"
    job = api(tenant.owner).get(f"{tts(tenant)}/async-jobs/{job_id}").json()
    assert job["state"] == "ERROR" and "frozen" in job["error_msg"]
    assert not UsageRecord.objects.exists()


def test_rights_and_isolation(api, tenant, other_tenant):
    assert_error(create(api, tenant, user=tenant.member), 403, "MSS.00000005")
    job_id = create(api, tenant).json()["job_id"]
    outsider = api(other_tenant.owner)
    assert_error(outsider.get(f"{tts(other_tenant)}/async-jobs/{job_id}"), 404, "MSS.00000004")
    assert_error(outsider.get(f"{tts(tenant)}/async-jobs/{job_id}"), 404, "MSS.00000002")
    # an audition job id is not an async job id, and the other way round
    assert_error(api(tenant.owner).get(f"{tts(tenant)}/audition/{job_id}"), 404, "MSS.00000004")


def test_audition_is_short(api, tenant):
    assert_error(create(api, tenant, path="audition", text="a" * 501), 400, "MSS.00000003", "500")
    response = create(api, tenant, path="audition", text="Just a short try.")
    assert response.status_code == 201
    assert jobs.run(response.json()["job_id"]) == "done"
    shown = api(tenant.owner).get(f"{tts(tenant)}/audition/{response.json()['job_id']}").json()
    assert shown["state"] == "FINISHED" and shown["audio_file_url"].endswith("/audio")


class _Sink(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        _Sink.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_callback_posts_the_result_to_a_loopback_server(api, tenant):
    from voices.tasks import send_callback

    server = HTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/done"
        job_id = create(api, tenant, callback_config={"callback_url": url}).json()["job_id"]
        assert jobs.run(job_id) == "done"
        assert send_callback(job_id) is True
    finally:
        server.shutdown()
    assert _Sink.received[-1]["job_id"] == job_id and _Sink.received[-1]["state"] == "FINISHED"


def test_voice_catalog_lists_presets_and_own_voices_only(api, tenant, other_tenant):
    mine, theirs = voice_asset(tenant), voice_asset(other_tenant)
    voices = api(tenant.member).get(f"{tts(tenant)}/voices").json()["voices"]
    ids = {voice["voice_id"] for voice in voices}
    assert {"espeak-cmn-f", "piper-en-us-joe", str(mine.pk)} <= ids and str(theirs.pk) not in ids
    languages = {voice["language"] for voice in voices if voice["tier"] == "PRESET"}
    assert len(languages) >= 10


def test_custom_readings_and_groups(api, tenant, other_tenant):
    client = api(tenant.owner)
    reading = send_json(client, "POST", f"{tts(tenant)}/vocabulary-configs",
                        {"source_text": "MS", "target_text": "MetaStudio"})
    assert reading.status_code == 201
    empty = send_json(client, "POST", f"{tts(tenant)}/vocabulary-configs", {"source_text": "", "target_text": "x"})
    assert_error(empty, 400, "MSS.00000003", "source_text")
    group = send_json(client, "POST", f"{tts(tenant)}/vocabulary-groups", {"group_name": "brand"}).json()
    assert_error(send_json(client, "POST", f"{tts(tenant)}/vocabulary-groups", {"group_name": "brand"}),
                 409, "MSS.00000007")
    in_group = send_json(client, "POST", f"{tts(tenant)}/vocabulary-configs",
                         {"source_text": "MS", "target_text": "Microsoft", "group_id": group["group_id"]}).json()
    assert send_json(client, "PUT", f"{tts(tenant)}/vocabulary-groups/{group['group_id']}/assets",
                     {"asset_ids": ["espeak-en-us-m"]}).json()["asset_ids"] == ["espeak-en-us-m"]
    from voices.speech import readings_for

    assert readings_for(tenant.account, PRESET) == {"MS": "MetaStudio"}
    assert readings_for(tenant.account, "espeak-en-us-m") == {"MS": "Microsoft"}
    # the reading is spoken: longer audio than the bare letters, timestamps still point at "MS"
    plain = create(api, tenant, text="MS", need_timestamp=True).json()["job_id"]
    jobs.run(plain)
    words = jobs.Job.objects.get(pk=plain).result["timestamps"]
    assert {w["word"] for w in words} == {"MS"}
    listed = client.get(f"{tts(tenant)}/vocabulary-configs?group_id={group['group_id']}").json()
    assert listed["count"] == 1 and listed["vocabulary_configs"][0]["target_text"] == "Microsoft"
    outsider = api(other_tenant.owner)
    assert_error(send_json(outsider, "DELETE", f"{tts(other_tenant)}/vocabulary-configs/{in_group['id']}"),
                 404, "MSS.00000004")
    assert_error(send_json(api(tenant.member), "DELETE", f"{tts(tenant)}/vocabulary-configs/{in_group['id']}"),
                 403, "MSS.00000005")
    assert send_json(client, "PUT", f"{tts(tenant)}/vocabulary-configs/{in_group['id']}",
                     {"target_text": "Mister Smith"}).json()["target_text"] == "Mister Smith"
    assert send_json(client, "DELETE", f"{tts(tenant)}/vocabulary-groups/{group['group_id']}").status_code == 204
    assert client.get(f"{tts(tenant)}/vocabulary-configs").json()["count"] == 1


def test_phonetic_symbols(api, tenant):
    found = api(tenant.member).get(f"{tts(tenant)}/phonetic-symbol?text=hello").json()
    assert found["text"] == "hello" and found["ipa"]
    assert_error(api(tenant.member).get(f"{tts(tenant)}/phonetic-symbol?text="), 400, "MSS.00000003", "text")
