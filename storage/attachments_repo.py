"""Reading and writing photos and locations (storage/models_attachments.py): recording them with their
message, attaching them to a request, the fetcher's claims and results, and the simulator's uploads.

Every function works in the caller's transaction. A fetch is claimed with one conditional UPDATE
(`claim`): the row is due and still pending, and the claim moves `next_attempt_at` on by a lease,
so two processes never fetch the same row at once, and a row whose fetcher died is due again when
the lease is over.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.message import Attachment, Message
from storage.models import InboxMessage
from storage.models_attachments import AttachmentFile, RequestAttachment, SimUpload
from storage.models_requests import OPEN_STATUSES, Request, RequestReporter

# Attachments that may join a request: a refused or failed image never does (the request is untouched).
ATTACHABLE: tuple[str, ...] = ("pending", "ready")
MessageKey = tuple[str, str]  # (channel, msg_id): the inbox's key


async def add_received(session: AsyncSession, message: Message, *, now: dt.datetime) -> list[RequestAttachment]:
    """Records the message's attachments, waiting for a request: images to fetch, locations ready."""
    rows = []
    for position, a in enumerate(message.attachments):
        row = RequestAttachment(
            community=message.community, channel=message.channel, msg_id=message.msg_id, position=position,
            group_id=message.group_id, sender_id=message.sender_id, sender_name=message.sender_name,
            kind=a.kind, media_id=a.media_id, url=a.url, latitude=a.latitude, longitude=a.longitude,
            label=a.label, status="pending" if a.kind == "image" else "ready", attempts=0,
            next_attempt_at=now, created_at=now)
        session.add(row)
        rows.append(row)
    await session.flush()
    return rows


def as_attachment(row: RequestAttachment) -> Attachment:
    return Attachment(kind=row.kind, media_id=row.media_id, url=row.url, latitude=row.latitude,  # type: ignore[arg-type]
                      longitude=row.longitude, label=row.label)


async def attachments_of_messages(session: AsyncSession, keys: Iterable[MessageKey]
                                  ) -> dict[MessageKey, tuple[Attachment, ...]]:
    """The attachments of stored messages (to rebuild a `Message` read back from the inbox)."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    rows = (await session.scalars(
        select(RequestAttachment)
        .where(tuple_(RequestAttachment.channel, RequestAttachment.msg_id).in_(wanted))
        .order_by(RequestAttachment.channel, RequestAttachment.msg_id, RequestAttachment.position))).all()
    found: dict[MessageKey, list[Attachment]] = {}
    for row in rows:
        found.setdefault((row.channel, row.msg_id), []).append(as_attachment(row))
    return {key: tuple(items) for key, items in found.items()}


async def of_message(session: AsyncSession, channel: str, msg_id: str) -> list[RequestAttachment]:
    return list((await session.scalars(
        select(RequestAttachment).where(RequestAttachment.channel == channel, RequestAttachment.msg_id == msg_id)
        .order_by(RequestAttachment.position))).all())


async def recent_open_request(session: AsyncSession, community: str, person_id: str,
                              since: dt.datetime) -> Request | None:
    """The open request this person reported (filed or joined) most recently, at or after `since`."""
    return await session.scalar(
        select(Request)
        .join(RequestReporter, RequestReporter.request_id == Request.id)
        .where(RequestReporter.person_id == person_id, RequestReporter.at >= since, Request.community == community,
               Request.status.in_(OPEN_STATUSES))
        .order_by(RequestReporter.at.desc(), Request.id.desc())
        .limit(1))


async def attach(session: AsyncSession, ids: Sequence[int], request_id: int, *, now: dt.datetime) -> int:
    """Attaches these (waiting, not refused) attachments to the request; returns how many it attached."""
    if not ids:
        return 0
    result = await session.execute(
        update(RequestAttachment)
        .where(RequestAttachment.id.in_(list(ids)), RequestAttachment.request_id.is_(None),
               RequestAttachment.status.in_(ATTACHABLE))
        .values(request_id=request_id, attached_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def attach_waiting(session: AsyncSession, community: str, sender_id: str, since: dt.datetime,
                         request_id: int, *, now: dt.datetime) -> int:
    """Attaches what this person sent since `since` that waits for a report; returns how many."""
    result = await session.execute(
        update(RequestAttachment)
        .where(RequestAttachment.community == community, RequestAttachment.sender_id == sender_id,
               RequestAttachment.created_at >= since, RequestAttachment.request_id.is_(None),
               RequestAttachment.status.in_(ATTACHABLE))
        .values(request_id=request_id, attached_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def of_request(session: AsyncSession, request_id: int) -> list[RequestAttachment]:
    return list((await session.scalars(
        select(RequestAttachment).where(RequestAttachment.request_id == request_id)
        .order_by(RequestAttachment.id))).all())


async def get_in_community(session: AsyncSession, community: str, attachment_id: int) -> RequestAttachment | None:
    row = await session.get(RequestAttachment, attachment_id)
    return row if row is not None and row.community == community else None


async def file_of(session: AsyncSession, attachment_id: int) -> AttachmentFile | None:
    return await session.get(AttachmentFile, attachment_id)


# --- the fetcher ---------------------------------------------------------------------------------

async def due(session: AsyncSession, now: dt.datetime, *, limit: int = 16,
              keys: Iterable[MessageKey] | None = None) -> list[int]:
    """Images waiting to be fetched whose time has come (of these messages only, if given)."""
    query = (select(RequestAttachment.id)
             .where(RequestAttachment.status == "pending", RequestAttachment.next_attempt_at <= now))
    if keys is not None:
        query = query.where(tuple_(RequestAttachment.channel, RequestAttachment.msg_id).in_(list(keys)))
    return list((await session.scalars(query.order_by(RequestAttachment.next_attempt_at, RequestAttachment.id)
                                       .limit(limit))).all())


async def claim(session: AsyncSession, attachment_id: int, now: dt.datetime, lease: dt.timedelta
                ) -> RequestAttachment | None:
    """Takes the row for one fetch attempt (None: not due, not pending, or another process has it)."""
    result = await session.execute(
        update(RequestAttachment)
        .where(RequestAttachment.id == attachment_id, RequestAttachment.status == "pending",
               RequestAttachment.next_attempt_at <= now)
        .values(next_attempt_at=now + lease, attempts=RequestAttachment.attempts + 1)
        .returning(RequestAttachment.id))
    if result.scalar() is None:
        return None
    return await session.get(RequestAttachment, attachment_id, populate_existing=True)


async def store_image(session: AsyncSession, row: RequestAttachment, *, data: bytes, thumbnail: bytes,
                      content_type: str, width: int, height: int, now: dt.datetime) -> None:
    session.add(AttachmentFile(attachment_id=row.id, data=data, thumbnail=thumbnail))
    row.status, row.content_type, row.size = "ready", content_type, len(data)
    row.width, row.height, row.fetched_at, row.last_error = width, height, now, None


async def refuse(session: AsyncSession, row: RequestAttachment, reason: str, detail: str, *, size: int | None,
                 now: dt.datetime) -> None:
    """Not stored: too large or not an image. A refused image leaves its request as it was."""
    await _settle_unstored(session, row, status="refused", reason=reason, size=size, fetched_at=now,
                           last_error=detail[:2000])


async def retry_later(session: AsyncSession, row: RequestAttachment, error: str, at: dt.datetime) -> None:
    row.next_attempt_at, row.last_error = at, error[:2000]


async def give_up(session: AsyncSession, row: RequestAttachment, error: str, *, now: dt.datetime) -> None:
    await _settle_unstored(session, row, status="failed", last_error=error[:2000], fetched_at=now)


async def _settle_unstored(session: AsyncSession, row: RequestAttachment, **values: object) -> None:
    """An image that will not be stored leaves any request it joined meanwhile: one UPDATE that sets
    request_id to NULL whatever this session read, so it also undoes an attach committed by a
    handler while the fetch was running (on PostgreSQL it waits for that transaction's row lock)."""
    await session.execute(update(RequestAttachment).where(RequestAttachment.id == row.id)
                          .values(request_id=None, **values).execution_options(synchronize_session=False))
    await session.refresh(row)


async def inbox_id_of(session: AsyncSession, channel: str, msg_id: str) -> int | None:
    return await session.scalar(select(InboxMessage.id).where(InboxMessage.channel == channel,
                                                              InboxMessage.msg_id == msg_id))


# --- the simulator's uploads ---------------------------------------------------------------------

async def add_sim_upload(session: AsyncSession, data: bytes, content_type: str | None, *, now: dt.datetime) -> int:
    upload = SimUpload(data=data, content_type=content_type, created_at=now)
    session.add(upload)
    await session.flush()
    return upload.id


async def sim_upload(session: AsyncSession, upload_id: int) -> SimUpload | None:
    return await session.get(SimUpload, upload_id)
