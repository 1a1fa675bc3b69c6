"""The web simulator channel: a WeChat-style group chat page and its JSON API (the default channel).

It is a channel like the WeChat ones: its JSON becomes a `Message`, and its sender "delivers"
the bot's `Outgoing`s into its own chat store (`sim_timeline`), which the page polls. The page's
image button posts a photo (multipart, `POST /api/sim/images`): it is kept as an upload (what
WeChat's media store is for the real channels) and the message refers to it by media id, so it
is fetched, checked and attached like a photo from any channel.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import logging
import uuid
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.inbox import Unstorable
from bot.intake import Intake
from bot.web_guard import streams_own_body
from bot.web_input import BadInput, bounded_int, parse_json_object, path_number, read_body
from config.community import Community, Directory, Group
from core.clock import Clock
from core.delivery import Delivery
from core.message import Attachment, Message
from handlers.image_check import sniff
from nlp.normalize import BOT_NAMES, replies_to
from storage import attachments_repo
from storage.db import Database
from storage.models import Member
from storage.models_channels import SimTimeline

log = logging.getLogger("linli.sim")

CHANNEL = "sim"
STATIC_DIR = Path(__file__).resolve().parent / "sim_static"
MAX_BODY_BYTES = 64 * 1024
IMAGE_PLACEHOLDER = "[图片]"  # the timeline's text of a photo sent without words
MAX_ID_CHARS = 128  # the inbox's msg_id and sender_id columns
TOKEN_HEADER = "X-Linli-Token"


class BadRequest(Exception):
    """A request the simulator refuses; the message is what the caller is told."""


def _error(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


class SimulatorSender:
    """Delivers outbox rows of the simulator channel into its timeline."""

    def __init__(self, db: Database, directory: Directory) -> None:
        self.db = db
        self.directory = directory

    async def send(self, delivery: Delivery) -> None:
        await self.send_batch([delivery])

    async def send_batch(self, deliveries: list[Delivery]) -> None:
        async with self.db.transaction() as session:
            await self.deliver_in(session, deliveries)

    async def deliver_in(self, session: AsyncSession, deliveries: list[Delivery]) -> None:
        """Writes the rows into the timeline inside the outbox's own transaction (exactly once)."""
        for d in deliveries:
            community = self.directory.community(d.community)
            session.add(
                SimTimeline(
                    chat_kind=d.audience,
                    chat_id=d.target,
                    from_kind="bot",
                    sender_id=None,
                    sender_name=community.bot_name if community else "社区小助手",
                    text=d.text,
                )
            )


class SimulatorChannel:
    def __init__(
        self,
        db: Database,
        directory: Directory,
        intake: Intake,
        clock: Clock,
        *,
        max_text_chars: int = 2048,
        token: str | None = None,
        max_upload_bytes: int = 20 * 1024 * 1024,
        body_timeout_seconds: float = 10.0,
    ) -> None:
        self.db = db
        self.directory = directory
        self.intake = intake
        self.clock = clock
        self.max_text_chars = max_text_chars
        self.token = token
        # A larger upload is refused at once (as a WeChat client would not send it); one between
        # the media limit and this gets the bot's own "图片太大了" answer.
        self.max_upload_bytes = max_upload_bytes
        self.body_timeout_seconds = body_timeout_seconds  # the photo form arrives within this
        # Joined members never leave the table, so a found one can be remembered.
        self._members: dict[tuple[str, str], tuple[str, str]] = {}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.index)
        app.router.add_static("/static/", STATIC_DIR, name="sim-static")
        app.router.add_get("/api/sim/directory", self.get_directory)
        app.router.add_post("/api/sim/messages", self.post_message)
        app.router.add_post("/api/sim/images", self.post_image)
        app.router.add_get("/api/sim/uploads/{upload:\\d+}", self.get_upload)
        app.router.add_get("/api/sim/groups/{group}/messages", self.group_messages)
        app.router.add_get("/api/sim/users/{user}/messages", self.user_messages)

    def _authorized(self, request: web.Request) -> bool:
        """The token travels in a header only (a query string ends up in logs and browser history),
        compared in constant time."""
        if not self.token:
            return True
        given = request.headers.get(TOKEN_HEADER, "")
        return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), self.token.encode("utf-8"))

    async def index(self, request: web.Request) -> web.StreamResponse:
        page = STATIC_DIR / "index.html"
        if not page.is_file():
            return web.Response(text="linli simulator page is missing", status=500)
        return web.FileResponse(page, headers={"Cache-Control": "no-cache"})

    async def get_directory(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "a valid simulator token is required")
        async with self.db.transaction() as session:
            members = (await session.scalars(select(Member).order_by(Member.created_at))).all()
        first = self.directory.communities[0]
        people = [
            {"id": p.id, "name": p.name, "role": p.role, "groups": list(p.groups), "community": c.id}
            for c in self.directory.communities
            for p in c.people
        ]
        people += [
            {"id": m.person_id, "name": m.name, "role": m.role, "groups": [m.first_group] if m.first_group else [],
             "community": m.community}
            for m in members
        ]
        return _json(
            {
                "bot": {"name": first.bot_name},
                "communities": [{"id": c.id, "name": c.name} for c in self.directory.communities],
                "groups": [
                    {"id": g.id, "name": g.name, "kind": g.kind, "community": c.id}
                    for c, g in self.directory.all_groups()
                ],
                "people": people,
            }
        )

    async def _parse(self, request: web.Request) -> dict[str, Any]:
        try:
            body = parse_json_object(await read_body(request, MAX_BODY_BYTES))
        except web.HTTPRequestEntityTooLarge:
            raise BadRequest(f"request body too large (over {MAX_BODY_BYTES} bytes)") from None
        except BadInput as exc:
            raise BadRequest(str(exc)) from None
        for key in ("group", "user", "text"):
            if key not in body:
                raise BadRequest(f"missing field {key!r}")
            if not isinstance(body[key], str):
                raise BadRequest(f"field {key!r} must be a string")
        if not body["group"].strip() or not body["user"].strip():
            raise BadRequest("fields 'group' and 'user' must not be empty")
        if len(body["user"].strip()) > MAX_ID_CHARS:
            raise BadRequest(f"field 'user' must be at most {MAX_ID_CHARS} characters")
        if not body["text"].strip():
            raise BadRequest("field 'text' must not be empty")
        if len(body["text"]) > self.max_text_chars:
            raise BadRequest(f"text is longer than {self.max_text_chars} characters")
        msg_id = body.get("msg_id")
        if msg_id is not None and not isinstance(msg_id, (str, int)) or isinstance(msg_id, bool):
            raise BadRequest("field 'msg_id' must be a string or an integer")
        if msg_id is not None and not (0 < len(str(msg_id)) <= MAX_ID_CHARS):
            raise BadRequest(f"field 'msg_id' must be 1 to {MAX_ID_CHARS} characters")
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 32):
            raise BadRequest("field 'name' must be a non-empty string of at most 32 characters")
        return body

    async def _sender(self, community: Community, group: Group, user_id: str, name: str | None
                      ) -> tuple[str, str, bool]:
        """(name, role, is_new_member) of who is speaking; unknown people join as residents."""
        person = community.person(user_id)
        if person is not None:
            return person.name, person.role, False
        known = self._members.get((community.id, user_id))
        if known is not None:
            return known[0], known[1], False
        async with self.db.transaction() as session:
            member = await session.get(Member, (community.id, user_id))
        if member is not None:
            self._members[(community.id, user_id)] = (member.name, member.role)
            return member.name, member.role, False
        display = name.strip() if name else f"邻居{user_id[-4:]}"
        return display, "resident", True

    async def post_message(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "a valid simulator token is required")
        try:
            body = await self._parse(request)
        except BadRequest as exc:
            log.warning("simulator rejected a message: %s", exc)
            return _error(400, str(exc))
        return await self._say(body, body["text"])

    @streams_own_body  # a photo of up to max_upload_bytes, read in pieces below
    async def post_image(self, request: web.Request) -> web.Response:
        """A photo from the page's image button: form fields group, user, name?, text?, msg_id?, image."""
        if not self._authorized(request):
            return _error(401, "a valid simulator token is required")
        try:
            body, data, content_type = await self._parse_image(request)
        except BadRequest as exc:
            log.warning("simulator rejected an image: %s", exc)
            status = 413 if "too large" in str(exc) else 408 if "did not arrive" in str(exc) else 400
            return _error(status, str(exc))
        if self.directory.find_group(body["group"]) is None:
            return _error(400, f"unknown group {body['group']!r}")
        try:
            async with self.db.transaction() as session:
                upload_id = await attachments_repo.add_sim_upload(session, data, content_type, now=self.clock.now())
        except Exception:
            log.exception("could not store a simulator upload")
            return _error(503, "the bot cannot store images right now; please try again")
        attachment = Attachment("image", media_id=f"sim:{upload_id}")
        return await self._say(body, body.get("text", ""), attachment=attachment, upload_id=upload_id)

    async def _parse_image(self, request: web.Request) -> tuple[dict[str, Any], bytes, str | None]:
        if request.content_length is not None and request.content_length > self.max_upload_bytes + MAX_BODY_BYTES:
            raise BadRequest(f"image too large (over {self.max_upload_bytes} bytes)")
        try:
            reader = await request.multipart()
        except (AssertionError, ValueError, KeyError):
            raise BadRequest("body must be multipart/form-data") from None
        try:
            return await asyncio.wait_for(self._read_image_form(reader), self.body_timeout_seconds)
        except TimeoutError:
            raise BadRequest(f"the photo did not arrive within {self.body_timeout_seconds:g} s") from None
        except (AssertionError, ValueError, LookupError) as exc:  # aiohttp's parser on a broken form
            raise BadRequest(f"not a readable multipart form ({type(exc).__name__})") from None

    async def _read_image_form(self, reader: Any) -> tuple[dict[str, Any], bytes, str | None]:
        fields: dict[str, Any] = {}
        data, content_type = None, None
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or not part.name:
                raise BadRequest("unexpected part in the form")
            limit = self.max_upload_bytes if part.name == "image" else self.max_text_chars * 4
            chunks = bytearray()
            while chunk := await part.read_chunk(64 * 1024):
                chunks += chunk
                if len(chunks) > limit:
                    raise BadRequest(f"image too large (over {self.max_upload_bytes} bytes)" if part.name == "image"
                                     else f"field {part.name!r} is too long")
            if part.name == "image":
                data, content_type = bytes(chunks), part.headers.get("Content-Type")
            else:
                try:
                    fields[part.name] = chunks.decode("utf-8")
                except UnicodeDecodeError:
                    raise BadRequest(f"field {part.name!r} is not UTF-8") from None
        if not data:
            raise BadRequest("missing field 'image'")
        for key in ("group", "user"):
            if not fields.get(key, "").strip():
                raise BadRequest(f"missing field {key!r}")
        if len(fields.get("text", "")) > self.max_text_chars:
            raise BadRequest(f"text is longer than {self.max_text_chars} characters")
        name = fields.get("name")
        if name is not None and (not name.strip() or len(name) > 32):
            raise BadRequest("field 'name' must be a non-empty string of at most 32 characters")
        msg_id = fields.get("msg_id")
        if msg_id is not None and not 0 < len(msg_id) <= 128:
            raise BadRequest("field 'msg_id' must be 1 to 128 characters")
        return fields, data, content_type

    async def _say(self, body: dict[str, Any], text: str, *, attachment: Attachment | None = None,
                   upload_id: int | None = None) -> web.Response:
        found = self.directory.find_group(body["group"])
        if found is None:
            log.warning("simulator rejected a message for unknown group %r", body["group"])
            return _error(400, f"unknown group {body['group']!r}")
        community, group = found
        user_id = body["user"].strip()
        sender_name, role, is_new = await self._sender(community, group, user_id, body.get("name"))
        message = Message(
            channel=CHANNEL,
            community=community.id,
            group_id=group.id,
            sender_id=user_id,
            sender_name=sender_name,
            text=text,
            msg_id=str(body["msg_id"]) if body.get("msg_id") is not None else uuid.uuid4().hex,
            sent_at=self.clock.now(),
            # An @-mention, or a reply quoting the bot's own message ("「社区小助手：…」" or "回复 社区小助手：").
            mentions_bot=f"@{community.bot_name}" in text or replies_to(text) in (community.bot_name, *BOT_NAMES),
            sender_role=role,  # type: ignore[arg-type]
            attachments=(attachment,) if attachment is not None else (),
        )

        async def on_new(session: AsyncSession, inbox_id: int) -> None:
            if is_new:  # merge: two first messages of one newcomer may arrive together
                await session.merge(Member(community=community.id, person_id=user_id, name=sender_name,
                                           role="resident", first_group=group.id))
            session.add(SimTimeline(chat_kind="group", chat_id=group.id, from_kind="user", sender_id=user_id,
                                    sender_name=sender_name, text=text or IMAGE_PLACEHOLDER, at=message.sent_at,
                                    upload_id=upload_id))

        try:
            stored = await self.intake.store(message, on_new)
        except Unstorable as exc:  # logged once, by the inbox
            return _error(400, f"this message cannot be stored: {exc}")
        except Exception:
            log.exception("could not store simulator message")
            return _error(503, "the bot cannot store messages right now; please try again")
        if is_new:
            self._members[(community.id, user_id)] = (sender_name, "resident")
        if stored.duplicate:
            return _json({"msg_id": message.msg_id, "duplicate": True, "replies": []})
        # The page reads the timeline right after this answer: the replies are in it by then.
        try:
            outgoing = await self.intake.answer(stored, message)
        except Exception:
            log.exception("could not handle simulator message %s", message.msg_id)
            return _error(503, "the bot could not handle this message right now; it will be retried")
        return _json(
            {
                "msg_id": message.msg_id,
                "replies": [{"to": o.to, "target": o.target, "text": o.text} for o in outgoing],
            }
        )

    async def _timeline(self, request: web.Request, kind: str, chat_id: str) -> list[dict[str, Any]]:
        try:
            after = bounded_int(request.query.get("after", "0"), name="'after'")
        except BadInput as exc:
            raise BadRequest(str(exc)) from None
        async with self.db.transaction() as session:
            rows = (
                await session.scalars(
                    select(SimTimeline)
                    .where(SimTimeline.chat_kind == kind, SimTimeline.chat_id == chat_id, SimTimeline.id > after)
                    .order_by(SimTimeline.id)
                    .limit(1000)
                )
            ).all()
        return [
            {
                "id": r.id,
                "from": r.from_kind,
                "sender_id": r.sender_id,
                "sender_name": r.sender_name,
                "text": r.text,
                "at": r.at.astimezone(dt.UTC).isoformat(),
                **({"image": f"/api/sim/uploads/{r.upload_id}"} if r.upload_id is not None else {}),
            }
            for r in rows
        ]

    async def group_messages(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "a valid simulator token is required")
        group_id = request.match_info["group"]
        if self.directory.find_group(group_id) is None:
            return _error(404, f"unknown group {group_id!r}")
        try:
            messages = await self._timeline(request, "group", group_id)
        except BadRequest as exc:
            return _error(400, str(exc))
        return _json({"group": group_id, "messages": messages})

    async def user_messages(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "a valid simulator token is required")
        user_id = request.match_info["user"]
        try:
            messages = await self._timeline(request, "user", user_id)
        except BadRequest as exc:
            return _error(400, str(exc))
        return _json({"user": user_id, "messages": messages})

    async def get_upload(self, request: web.Request) -> web.Response:
        """A photo posted in the simulator, for its chat bubble (served as the image it looks like, never sniffed)."""
        if not self._authorized(request):
            return _error(401, "a valid simulator token is required")
        async with self.db.transaction() as session:
            upload = await attachments_repo.sim_upload(session, path_number(request, "upload"))
            data = upload.data if upload is not None else None
        if data is None:
            return _error(404, "no such upload")
        sniffed = sniff(data)
        return web.Response(body=data, content_type=sniffed[0] if sniffed else "application/octet-stream",
                            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600",
                                     "Content-Security-Policy": "default-src 'none'; sandbox"})
