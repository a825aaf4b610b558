"""Live job updates for the console's task center."""

import asyncio
from datetime import timedelta

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer
from django.utils import timezone

from metastudio.jobs import Job, job_group, job_payload
from tenancy.permissions import user_can

POLL_SECONDS = 1.0
LOOKBACK_SECONDS = 30


class JobsConsumer(AsyncJsonWebsocketConsumer):
    """Sends {"type": "job", "job": {...}} whenever a job of the user's account changes.

    Events are pushed through the channel layer (Redis in scaled mode). The embedded default's
    in-memory layer cannot carry events from worker processes, so there the consumer also
    polls the account's recently changed jobs once a second.
    """

    async def connect(self):
        user = self.scope.get("user")
        account_id = await self._allowed_account(user)
        if account_id is None:
            await self.close(code=4403)
            return
        self.account_id = account_id
        self.group = job_group(account_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        self.poller = None
        if isinstance(self.channel_layer, InMemoryChannelLayer):
            self.poller = asyncio.create_task(self._poll())

    async def disconnect(self, code):
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if getattr(self, "poller", None):
            self.poller.cancel()

    async def job_update(self, event):
        await self.send_json({"type": "job", "job": event["job"]})

    async def _poll(self):
        sent: dict[str, str] = {}
        while True:
            for payload in await self._recently_changed(sent):
                await self.send_json({"type": "job", "job": payload})
            await asyncio.sleep(POLL_SECONDS)

    @database_sync_to_async
    def _recently_changed(self, sent: dict[str, str]) -> list[dict]:
        # A worker stamps updated_at before its transaction commits, so a row can become visible with a
        # time older than the previous poll: look back a margin and send only versions not sent yet.
        since = timezone.now() - timedelta(seconds=LOOKBACK_SECONDS)
        changed, in_window = [], {}
        for job in Job.objects.filter(account_id=self.account_id, updated_at__gte=since).order_by("updated_at")[:200]:
            in_window[str(job.pk)] = version = job.updated_at.isoformat()
            if sent.get(str(job.pk)) != version:
                changed.append(job_payload(job))
        sent.clear()
        sent.update(in_window)
        return changed

    @database_sync_to_async
    def _allowed_account(self, user):
        if user is None or not user.is_authenticated or not user_can(user, "metastudio:job:show"):
            return None
        return user.account_id
