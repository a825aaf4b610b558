"""The synchronous TTS WebSocket (/v1/{project_id}/ttsc/ws) through the real ASGI application: token and session
authentication, IAM, tenant isolation, streamed chunks with timestamps, errors that keep the socket open, metering."""

import json

import numpy as np
import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from billing.models import UsageRecord
from metastudio.asgi import application
from tests.api_helpers import fast_password_hashing  # noqa: F401
from tests.conftest import token_for
from tests.factories import make_tenant

pytestmark = [pytest.mark.timeout(60)]


@pytest.fixture
def tenant(transactional_db):
    return make_tenant()


@pytest.fixture
def other_tenant(transactional_db):
    return make_tenant()


def _headers(user=None, origin: bytes | None = None, session: bool = False) -> list:
    headers = []
    if user is not None and not session:
        headers.append((b"x-auth-token", token_for(user).encode()))
    if session:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    if origin:
        headers.append((b"origin", origin))
    return headers


def run(scenario):
    return async_to_sync(scenario)()


async def _messages_until_end(socket, limit: int = 200) -> list:
    received = []
    for _ in range(limit):
        message = await socket.receive_output(timeout=20)
        if message.get("text"):
            data = json.loads(message["text"])
            received.append(data)
            if data["type"] in ("end", "error"):
                return received
        else:
            received.append(message["bytes"])
    raise AssertionError("no end message")


def test_streams_sentences_with_words_then_end(tenant):
    headers = _headers(tenant.owner)

    async def scenario():
        socket = WebsocketCommunicator(application, f"/v1/{tenant.project_id}/ttsc/ws", headers=headers)
        connected, _ = await socket.connect()
        assert connected
        text = "First sentence here. Second one follows. 第三句是中文。"
        await socket.send_to(text_data=json.dumps({"text": text, "voice_asset_id": "espeak-en-us-m",
                                                   "sample_rate": 16000}))
        received = await _messages_until_end(socket)
        await socket.disconnect()
        return text, received

    text, received = run(scenario)
    chunks = [item for item in received if isinstance(item, dict) and item["type"] == "chunk"]
    audio = [item for item in received if isinstance(item, bytes)]
    assert len(chunks) == 3 and len(audio) == 3 and received[-1]["type"] == "end"
    assert received[0]["type"] == "chunk" and isinstance(received[1], bytes)  # audio follows each header
    for header, pcm in zip(chunks, audio, strict=True):
        samples = np.frombuffer(pcm, dtype="<i2")
        assert abs(len(samples) / 16000 - header["duration"]) < 0.01 and np.abs(samples).max() > 1000
    assert chunks[1]["start_time"] >= chunks[0]["start_time"] + chunks[0]["duration"] - 0.01
    words = [word for chunk in chunks for word in chunk["words"]]
    assert all(text[w["text_begin"]:w["text_end"]] == w["word"] for w in words)
    assert words[0]["word"] == "First" and "第" in [w["word"] for w in words]
    usage = UsageRecord.objects.get(account=tenant.account)
    assert usage.resource_type == "TTS_CHARACTERS_PRESET" and int(usage.quantity) == len(text)


def test_bad_input_answers_an_error_and_the_socket_stays_open(tenant):
    headers = _headers(tenant.owner)

    async def scenario():
        socket = WebsocketCommunicator(application, f"/v1/{tenant.project_id}/ttsc/ws", headers=headers)
        await socket.connect()
        answers = []
        for message in ("not json", json.dumps({"text": "", "voice_asset_id": "espeak-en-us-m"}),
                        json.dumps({"text": "<speak>unclosed", "voice_asset_id": "espeak-en-us-m"}),
                        json.dumps({"text": "fine", "voice_asset_id": "nobody-voice"})):
            await socket.send_to(text_data=message)
            answers.append(json.loads((await socket.receive_output(timeout=10))["text"]))
        await socket.send_to(text_data=json.dumps({"text": "Still here.", "voice_asset_id": "espeak-en-us-m"}))
        last = await _messages_until_end(socket)
        await socket.disconnect()
        return answers, last

    answers, last = run(scenario)
    assert [a["error_code"] for a in answers] == ["MSS.00000009", "MSS.00000003", "MSS.00000003", "MSS.00000004"]
    assert "line 1" in answers[2]["error_msg"]
    assert last[-1]["type"] == "end"
    assert UsageRecord.objects.count() == 1  # only the good one is metered


@pytest.mark.parametrize("who", ["anonymous", "outsider", "member_without_tts"])
def test_refused_connections(tenant, other_tenant, who):
    user = {"anonymous": None, "outsider": other_tenant.owner, "member_without_tts": tenant.member}[who]
    expected = {"anonymous": "APIGW.0301", "outsider": "MSS.00000002", "member_without_tts": "MSS.00000005"}[who]

    headers = _headers(user)

    async def scenario():
        socket = WebsocketCommunicator(application, f"/v1/{tenant.project_id}/ttsc/ws", headers=headers)
        await socket.connect()
        error = json.loads((await socket.receive_output(timeout=10))["text"])
        closed = await socket.receive_output(timeout=10)
        return error, closed

    error, closed = run(scenario)
    assert error["error_code"] == expected and closed["type"] == "websocket.close"


def test_console_session_needs_the_sites_origin(tenant):
    own_headers = _headers(tenant.owner, origin=b"http://testserver", session=True)
    foreign_headers = _headers(tenant.owner, origin=b"http://evil.example", session=True)

    async def scenario():
        socket = WebsocketCommunicator(application, f"/v1/{tenant.project_id}/ttsc/ws", headers=own_headers)
        await socket.connect()
        own = await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()
        foreign = WebsocketCommunicator(application, f"/v1/{tenant.project_id}/ttsc/ws", headers=foreign_headers)
        await foreign.connect()
        refused = json.loads((await foreign.receive_output(timeout=10))["text"])
        return own, refused

    own, refused = run(scenario)
    assert own is True  # accepted, nothing sent
    assert refused["error_code"] == "APIGW.0301"


def test_requests_over_the_tables_limit_are_throttled(tenant):
    headers = _headers(tenant.owner)

    async def scenario():
        socket = WebsocketCommunicator(application, f"/v1/{tenant.project_id}/ttsc/ws", headers=headers)
        await socket.connect()
        codes = []
        for _ in range(14):  # tts.websocket allows 10 a second in cn-north-4
            await socket.send_to(text_data=json.dumps({"text": "x", "voice_asset_id": "no-such-voice"}))
            codes.append(json.loads((await socket.receive_output(timeout=10))["text"])["error_code"])
        await socket.disconnect()
        return codes

    codes = run(scenario)
    assert "APIGW.0308" in codes and codes.count("MSS.00000004") >= 5, codes


def test_token_scoped_to_another_project_is_refused(tenant):
    other_project = tenant.account.projects.exclude(pk=tenant.project.pk).first()
    headers = [(b"x-auth-token", token_for(tenant.owner, other_project).encode())]

    async def scenario():
        socket = WebsocketCommunicator(application, f"/v1/{tenant.project_id}/ttsc/ws", headers=headers)
        await socket.connect()
        return json.loads((await socket.receive_output(timeout=10))["text"])

    error = run(scenario)
    assert error["error_code"] == "MSS.00000005" and other_project.project_id in error["error_msg"]
