"""WS /ws/calls/live/: the managers' live page. Staff with `calls.view_call` only, checked on connect.

On connect the page gets a snapshot of the calls in progress with their turns so far; then each new turn,
each call that starts, and each call that ends (calls/live.py feeds the groups). Groups are joined before
the snapshot is read, so nothing written in between is missed; the page replaces a turn by its index, so
hearing one twice is harmless.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.urls import reverse
from django.utils import timezone

from calls import selectors
from calls.live import LOBBY_GROUP, call_group, turn_payload
from calls.presentation import caller_label, outcome_label

VIEW_PERMISSION = "calls.view_call"
REFUSED = 4403  # an application close code: "forbidden"


def may_watch(user) -> bool:
    return bool(user and user.is_active and user.is_staff and user.has_perm(VIEW_PERMISSION))


def call_card(call) -> dict:
    """A live call as the page shows it (the turns so far included)."""
    return {
        "id": call.pk,
        "caller": caller_label(call),
        "direction": call.get_direction_display(),
        "transport": call.get_transport_display(),
        "started": call.started_at.isoformat(),
        "url": reverse("calls:detail", args=[call.pk]),
        "turns": [_turn(t) for t in getattr(call, "live_turns", ())],
    }


def _turn(t) -> dict:
    return turn_payload(
        index=t.index,
        role=t.role,
        text=t.text,
        started_at=t.started_at,
        interrupted=t.interrupted,
        first_audio_ms=t.first_audio_ms,
    )


def _live_cards(call_id: int | None = None) -> list[dict]:
    return [call_card(call) for call in selectors.live_calls(timezone.now(), call_id=call_id)]


class LiveCallsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.watching: set[int] = set()
        user = self.scope.get("user")
        if not await database_sync_to_async(may_watch)(user):
            await self.close(code=REFUSED)
            return
        await self.accept()
        await self.channel_layer.group_add(LOBBY_GROUP, self.channel_name)
        ids = await database_sync_to_async(self._live_ids)()
        for call_id in ids:
            await self._watch(call_id)
        cards = await database_sync_to_async(_live_cards)()
        for card in cards:
            await self._watch(card["id"])
        await self.send_json({"type": "snapshot", "calls": cards})

    @staticmethod
    def _live_ids() -> list[int]:
        return [call.pk for call in selectors.live_calls(timezone.now())]

    async def disconnect(self, code):
        if self.channel_layer is None:
            return
        await self.channel_layer.group_discard(LOBBY_GROUP, self.channel_name)
        for call_id in list(self.watching):
            await self.channel_layer.group_discard(call_group(call_id), self.channel_name)

    async def receive_json(self, content, **kwargs):
        """The page only listens."""

    async def _watch(self, call_id: int) -> None:
        if call_id not in self.watching:
            self.watching.add(call_id)
            await self.channel_layer.group_add(call_group(call_id), self.channel_name)

    # ------------------------------------------------------------------ from the channel layer (calls/live.py)
    async def live_call(self, event):
        call_id = event.get("call")
        if not isinstance(call_id, int):
            return
        if event.get("event") == "started":
            await self._watch(call_id)
            cards = await database_sync_to_async(_live_cards)(call_id)
            if cards:
                await self.send_json({"type": "call_started", "call": cards[0]})
        elif event.get("event") == "ended" and call_id in self.watching:
            self.watching.discard(call_id)
            await self.channel_layer.group_discard(call_group(call_id), self.channel_name)
            await self.send_json({
                "type": "call_ended",
                "call": call_id,
                "outcome": outcome_label(event.get("outcome") or ""),
                "url": reverse("calls:detail", args=[call_id]),
            })  # fmt: skip

    async def live_turn(self, event):
        call_id = event.get("call")
        if call_id in self.watching and isinstance(event.get("turn"), dict):
            await self.send_json({"type": "turn", "call": call_id, "turn": event["turn"]})
