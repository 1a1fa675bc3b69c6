"""Pending questions (slot filling): one row per (channel, chat, sender), read and written here.

`Conversations` holds the pending questions of a batch of messages: read in one query, and kept
current as handlers ask and forget, so a sender's second message in the batch sees what the
first one left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.message import Message
from storage.models import ConversationState

Key = tuple[str, str, str]  # (channel, group id or "" for a one-to-one chat, sender id)


def key_of(message: Message) -> Key:
    return (message.channel, message.group_id or "", message.sender_id)


async def save(session: AsyncSession, key: Key, *, intent: str, slot: str, data: dict[str, Any],
               expires_at: dt.datetime, now: dt.datetime) -> ConversationState:
    """Records the question asked (replacing any earlier one of that sender in that chat)."""
    state = await session.get(ConversationState, key)
    if state is None:
        channel, chat_id, sender_id = key
        state = ConversationState(channel=channel, chat_id=chat_id, sender_id=sender_id, intent=intent, slot=slot,
                                  data=data, expires_at=expires_at, updated_at=now)
        session.add(state)
    else:
        state.intent, state.slot, state.data = intent, slot, data
        state.expires_at, state.updated_at = expires_at, now
    return state


async def drop(session: AsyncSession, key: Key) -> None:
    """Forgets the sender's pending question in that chat (answered, cancelled or expired)."""
    channel, chat_id, sender_id = key
    await session.execute(
        delete(ConversationState).where(
            ConversationState.channel == channel,
            ConversationState.chat_id == chat_id,
            ConversationState.sender_id == sender_id,
        )
    )


class Conversations:
    """The pending questions of some messages' senders, in one session."""

    def __init__(self, session: AsyncSession, senders: set[str], states: dict[Key, ConversationState]) -> None:
        self._session = session
        self._senders = senders  # whose questions were all read
        self._states: dict[Key, ConversationState | None] = dict(states)
        self._unknown: set[Key] = set()

    @classmethod
    async def load(cls, session: AsyncSession, messages: Iterable[Message]) -> Conversations:
        """Reads every pending question of the messages' senders in one query."""
        senders = {m.sender_id for m in messages}
        rows = (await session.scalars(select(ConversationState).where(ConversationState.sender_id.in_(senders)))
                ).all() if senders else []
        return cls(session, senders, {(r.channel, r.chat_id, r.sender_id): r for r in rows})

    async def of(self, message: Message) -> ConversationState | None:
        """The question pending for this message's sender in this chat, if any."""
        key = key_of(message)
        if key in self._unknown or (key not in self._states and message.sender_id not in self._senders):
            self._states[key] = await self._session.get(ConversationState, key, populate_existing=True)
            self._unknown.discard(key)
        return self._states.get(key)

    def remember(self, message: Message, state: ConversationState | None) -> None:
        """What a handler left pending for this sender (its context's conversation afterwards)."""
        self._states[key_of(message)] = state

    def forget(self, message: Message) -> None:
        """Reads this sender's question again next time (a handler's changes were rolled back)."""
        self._unknown.add(key_of(message))
