"""The task center's WebSocket (console.consumers.JobsConsumer at ws/jobs/) through the real ASGI application:
session authentication, origin check, IAM refusal, pushed events, the in-memory layer's polling and tenant
isolation.

Each test drives one event loop with async_to_sync; database work inside it goes through sync_to_async and,
like the consumer's own queries, must see committed rows (transactional_db)."""

import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from console import consumers
from metastudio import jobs
from metastudio.asgi import application
from metastudio.jobs import Job
from tenancy.audit import Actor
from tenancy.exports import AUDIT_EXPORT
from tests.api_helpers import fast_password_hashing  # noqa: F401
from tests.factories import make_tenant

pytestmark = [pytest.mark.timeout(60)]

ORIGIN = b"http://testserver"
# The poller looks every POLL_SECONDS: a polled change arrives within two rounds, and "nothing is sent"
# is checked for longer than one round.
POLL_WAIT = consumers.POLL_SECONDS * 2 + 1
QUIET_WAIT = consumers.POLL_SECONDS * 1.5


@pytest.fixture
def tenant(transactional_db):
    return make_tenant()


@pytest.fixture
def other_tenant(transactional_db):
    return make_tenant()


@pytest.fixture(autouse=True)
def _empty_channel_layer():
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
    yield
    async_to_sync(layer.flush)()


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def communicator(user=None, origin: bytes | None = ORIGIN) -> WebsocketCommunicator:
    """A client of ws/jobs/ signed in as `user` (a real session) and sending `origin`."""
    headers = []
    if origin is not None:
        headers.append((b"origin", origin))
    if user is not None:
        cookie = await sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return WebsocketCommunicator(application, "/ws/jobs/", headers=headers)


def submit_export(tenant) -> Job:
    return jobs.submit(Actor(user=tenant.owner, account=tenant.account, via="api"), tenant.account,
                       AUDIT_EXPORT.name, {"format": "CSV"}, project=tenant.project)


def in_loop(scenario):
    """Run an async scenario to the end in one event loop."""
    return async_to_sync(scenario)()


async def catch_up(socket) -> list[dict]:
    """The first poll re-sends the account's recently changed jobs once (what changed before the socket opened)."""
    seen = []
    while not await socket.receive_nothing(timeout=QUIET_WAIT):
        seen.append((await socket.receive_json_from())["job"])
    return seen


async def next_job_message(socket, timeout: float = POLL_WAIT) -> dict:
    message = await socket.receive_json_from(timeout=timeout)
    assert message["type"] == "job", message
    assert set(message) == {"type", "job"}
    return message["job"]


async def job_messages_until(socket, job_id, state: str, timeout: float = 10) -> list[dict]:
    """Collect job messages until job_id is seen in `state`; fail if that takes longer than `timeout`."""
    seen, deadline = [], time.monotonic() + timeout
    while True:
        payload = await next_job_message(socket, timeout=max(0.1, deadline - time.monotonic()))
        seen.append(payload)
        if payload["job_id"] == str(job_id) and payload["state"] == state:
            return seen


# --- who may connect -----------------------------------------------------------------------------------------

def test_owner_and_readonly_member_are_accepted(tenant):
    async def scenario():
        for user in (tenant.owner, tenant.member):
            socket = await communicator(user)
            connected, _ = await socket.connect(timeout=5)
            assert connected, user.username
            assert await socket.receive_nothing(timeout=0.2)
            await socket.disconnect()

    in_loop(scenario)


def test_user_without_job_show_is_refused(tenant):
    async def scenario():
        socket = await communicator(tenant.nobody)
        connected, code = await socket.connect(timeout=5)
        assert not connected
        assert code == 4403

    in_loop(scenario)


def test_anonymous_is_refused(transactional_db):
    async def scenario():
        socket = await communicator(None)
        connected, code = await socket.connect(timeout=5)
        assert (connected, code) == (False, 4403)

    in_loop(scenario)


@pytest.mark.parametrize("origin", [b"http://evil.example", None])
def test_foreign_or_missing_origin_is_refused(tenant, origin):
    async def scenario():
        socket = await communicator(tenant.owner, origin=origin)
        connected, _ = await socket.connect(timeout=5)
        assert not connected

    in_loop(scenario)


def test_localhost_origin_is_accepted(tenant):
    async def scenario():
        socket = await communicator(tenant.owner, origin=b"http://localhost:8000")
        connected, _ = await socket.connect(timeout=5)
        assert connected
        await socket.disconnect()

    in_loop(scenario)


# --- what is sent --------------------------------------------------------------------------------------------------

def test_published_job_is_pushed(tenant):
    job = submit_export(tenant)  # before connecting: the poller reports it once, in its catch-up

    async def scenario():
        socket = await communicator(tenant.owner)
        assert (await socket.connect(timeout=5))[0]
        assert [payload["job_id"] for payload in await catch_up(socket)] == [str(job.pk)]
        await sync_to_async(jobs.publish)(job.pk)
        payload = await next_job_message(socket, timeout=0.9)  # sooner than a poll round
        assert payload["job_id"] == str(job.pk)
        assert payload["state"] == "WAITING"
        assert payload["kind"] == AUDIT_EXPORT.name
        assert payload["kind_label"] == AUDIT_EXPORT.label
        assert payload["has_file"] is False
        # The row did not change, so the poller adds nothing.
        assert await socket.receive_nothing(timeout=QUIET_WAIT)
        await socket.disconnect()

    in_loop(scenario)


def test_submit_after_connect_is_pushed(tenant):
    async def scenario():
        socket = await communicator(tenant.owner)
        assert (await socket.connect(timeout=5))[0]
        job = await sync_to_async(submit_export)(tenant)
        payload = await next_job_message(socket, timeout=5)
        assert payload["job_id"] == str(job.pk)
        assert payload["state"] == "WAITING"
        await socket.disconnect()

    in_loop(scenario)


def test_row_changes_reach_the_socket_by_polling(tenant):
    """A worker process cannot reach this process's in-memory layer; the consumer polls the rows."""
    job = submit_export(tenant)

    async def scenario():
        socket = await communicator(tenant.owner)
        assert (await socket.connect(timeout=5))[0]
        assert [payload["job_id"] for payload in await catch_up(socket)] == [str(job.pk)]
        # Changed as another process would: the row only, no event in this process.
        await sync_to_async(Job.objects.filter(pk=job.pk).update)(progress=42, stage="halfway there")
        payload = await next_job_message(socket)
        assert (payload["job_id"], payload["progress"], payload["stage"]) == (str(job.pk), 42, "halfway there")
        # Reported once: an unchanged row is not sent again.
        assert await socket.receive_nothing(timeout=QUIET_WAIT)
        await socket.disconnect()

    in_loop(scenario)


def test_running_a_job_reports_its_end(tenant):
    job = submit_export(tenant)

    async def scenario():
        socket = await communicator(tenant.owner)
        assert (await socket.connect(timeout=5))[0]
        assert await sync_to_async(jobs.run)(str(job.pk)) == "done"
        seen = await job_messages_until(socket, job.pk, "SUCCEED")
        assert {payload["job_id"] for payload in seen} == {str(job.pk)}
        assert seen[-1]["progress"] == 100
        assert seen[-1]["has_file"] is True
        assert seen[-1]["end_time"]
        await socket.disconnect()

    in_loop(scenario)


def test_cancel_is_reported(tenant):
    job = submit_export(tenant)

    async def scenario():
        socket = await communicator(tenant.owner)
        assert (await socket.connect(timeout=5))[0]
        await sync_to_async(jobs.cancel)(Actor(user=tenant.owner, account=tenant.account, via="console"), job)
        seen = await job_messages_until(socket, job.pk, "CANCELED")
        assert seen[-1]["stage"] == "canceled"
        await socket.disconnect()

    in_loop(scenario)


def test_jobs_of_another_tenant_are_never_sent(tenant, other_tenant):
    theirs = submit_export(other_tenant)
    ours = submit_export(tenant)

    async def scenario():
        socket = await communicator(tenant.owner)
        assert (await socket.connect(timeout=5))[0]
        neighbour = await communicator(other_tenant.owner)
        assert (await neighbour.connect(timeout=5))[0]
        assert {payload["job_id"] for payload in await catch_up(socket)} == {str(ours.pk)}
        assert {payload["job_id"] for payload in await catch_up(neighbour)} == {str(theirs.pk)}

        await sync_to_async(jobs.publish)(theirs.pk)
        await sync_to_async(Job.objects.filter(pk=theirs.pk).update)(progress=7, stage="theirs")
        assert await sync_to_async(jobs.run)(str(theirs.pk)) == "done"
        # The other tenant does get them ...
        await job_messages_until(neighbour, theirs.pk, "SUCCEED")
        # ... this one gets nothing, neither pushed nor polled.
        assert await socket.receive_nothing(timeout=QUIET_WAIT)

        await sync_to_async(jobs.publish)(ours.pk)
        payload = await next_job_message(socket, timeout=5)
        assert payload["job_id"] == str(ours.pk)
        assert await socket.receive_nothing(timeout=QUIET_WAIT)
        await socket.disconnect()
        await neighbour.disconnect()

    in_loop(scenario)


def test_disconnect_stops_polling_and_leaves_the_group(tenant):
    job = submit_export(tenant)
    layer = get_channel_layer()

    async def scenario():
        socket = await communicator(tenant.owner)
        assert (await socket.connect(timeout=5))[0]
        assert layer.groups.get(jobs.job_group(tenant.account.pk))
        await socket.disconnect()
        assert not layer.groups.get(jobs.job_group(tenant.account.pk))
        await sync_to_async(jobs.publish)(job.pk)

    in_loop(scenario)
