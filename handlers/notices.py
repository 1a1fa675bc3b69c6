"""Staff notices to residents' groups: "通知 全部居民群 明天9:00-12:00停水…" shows a preview (the
groups and how many people), `确认` sends it, `定时 明天 8:00` schedules it, `取消` drops it.

Only configured staff, in the staff group or a private chat. A notice becomes one outbox row per
group with the key notice:{id}:{group}, so it reaches each group exactly once whatever is retried,
and goes out through each group's channel at that channel's pace (the outbox's rate limits).
Scheduled notices are sent by the scheduler's `notices` job (`due_notices`), which runs every
minute on the scheduler leader. The staff page (bot/staff_web/notice_pages.py) uses the same steps.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community, Group
from core.message import Outgoing
from handlers import texts_notices as texts
from handlers.base import Context, Incoming
from nlp.dates import find_days
from nlp.normalize import normalize, strip_controls, strip_mentions
from storage import notices_repo as repo
from storage.models_notices import Notice

log = logging.getLogger("linli.notices")

INTENT = "notice"
# A scheduled notice is still sent this late (the bot was down at its time); later staff are told.
GRACE = dt.timedelta(hours=2)
LONGEST_AHEAD = dt.timedelta(days=60)

# "通知 …" / "发通知：…" / "【通知】…": a separator after the word, so "通知大家一下" is just talk.
_NEW = re.compile(r"^\s*(?:发)?通知(?:\s*[:：]\s*|\s+|(?=【))(?P<rest>.+)$", re.S)
_LIST = re.compile(r"^\s*通知列表\s*$")
_HELP = re.compile(r"^\s*通知帮助\s*$")
_CANCEL = re.compile(r"^\s*(?:取消|撤回|撤销)通知\s*#?(?P<id>\d{1,9})\s*$")
_ALL = {"全部居民群", "全部", "所有居民群", "全体居民", "全体", "所有群", "全部群", "全部居民", "所有居民"}
_BUILDINGS = re.compile(r"^(?P<first>\d{1,3})(?:\s*[-~到至]\s*(?P<last>\d{1,3}))?号?(?:楼|栋|幢)$")
_SPLIT = re.compile(r"[、,，/和]")
_TOKEN = re.compile(r"(\S+)(.*)", re.S)  # the first word of a text, and the rest


@dataclass(frozen=True)
class NoticeCommand:
    kind: str  # new | list | cancel | help
    words: tuple[str, ...] = ()  # the audience as typed: 全部居民群, 3号楼 …
    body: str = ""
    notice_id: int | None = None


def parse_command(raw: str) -> NoticeCommand | None:
    """A notice command in a message as typed; the body is kept as written (not normalized)."""
    text = strip_controls(strip_mentions(raw)).strip()
    if _LIST.match(text):
        return NoticeCommand("list")
    if _HELP.match(text):
        return NoticeCommand("help")
    m = _CANCEL.match(text)
    if m:
        return NoticeCommand("cancel", notice_id=int(m.group("id")))
    m = _NEW.match(text)
    if m is None:
        return None
    rest = m.group("rest").strip()
    words: list[str] = []
    while rest:
        token, after = _TOKEN.match(rest).groups()  # type: ignore[union-attr]
        parts = [w for w in _SPLIT.split(token.rstrip(":：")) if w]
        if not parts or not all(_is_audience_word(w) for w in parts):
            break
        words += parts
        rest = after.lstrip(" \t\n:：")
    return NoticeCommand("new", tuple(words), rest.strip())


def _is_audience_word(word: str) -> bool:
    return word in _ALL or bool(_BUILDINGS.match(word)) or word.endswith("群") or word.startswith("g-")


@dataclass(frozen=True)
class Audience:
    """The residents' groups a notice goes to, how staff named them, and words that named none."""

    groups: tuple[Group, ...]
    label: str
    unknown: tuple[str, ...] = field(default=())


def residents_groups(community: Community) -> list[Group]:
    return [g for g in community.groups if g.kind == "residents"]


def resolve_audience(community: Community, words: Sequence[str]) -> Audience:
    """Groups for 全部居民群, a group's name or id, N号楼 or N-M号楼 (the groups of those buildings),
    in the file's order; no words means every residents' group."""
    residents = residents_groups(community)
    if not words or any(w in _ALL for w in words):
        return Audience(tuple(residents), "全部居民群")
    chosen: set[str] = set()
    unknown: list[str] = []
    for word in words:
        m = _BUILDINGS.match(word)
        if m:
            first, last = int(m.group("first")), int(m.group("last") or m.group("first"))
            buildings = set(range(min(first, last), max(first, last) + 1))
            found = {g.id for g in residents if buildings & set(g.buildings)}
        else:
            found = {g.id for g in residents if word in (g.id, g.name)}
        chosen |= found
        if not found:
            unknown.append(word)
    return Audience(tuple(g for g in residents if g.id in chosen), "、".join(words), tuple(unknown))


def people_in(community: Community, groups: Sequence[Group]) -> int:
    return sum(community.member_count(g) for g in groups)


def groups_of(community: Community, notice: Notice) -> list[Group]:
    """The notice's groups that the community file still has."""
    return [g for g in (community.group(gid) for gid in notice.targets) if g is not None]


def preview_text(community: Community, notice: Notice, unknown: Sequence[str] = ()) -> str:
    groups = groups_of(community, notice)
    lines = [texts.group_line(g.name, community.member_count(g)) for g in groups]
    return texts.preview(notice.id, lines, people_in(community, groups), notice.text, unknown)


def notice_posts(community: Community, notice: Notice) -> list[Outgoing]:
    """One post per group, keyed notice:{id}:{group}: a notice reaches each group once."""
    body = texts.post(community.name, notice.text)
    return [Outgoing(g.channel, community.id, "group", g.id, body, idempotency_key=f"notice:{notice.id}:{g.id}")
            for g in groups_of(community, notice)]


class BadTime(ValueError):
    """A 定时 that cannot be used; the message says why."""


_TIME = re.compile(r"(?P<h>\d{1,2})\s*(?:[:：点时]\s*(?P<m>\d{1,2}|半)?)(?:分)?")
_PM_WORDS = ("下午", "晚上", "傍晚")


def parse_send_time(text: str, now: dt.datetime) -> dt.datetime:
    """"明天 8:00", "12月5日 下午3点", "8:30" (today) -> an aware time in `now`'s zone, in the future."""
    normalized = normalize(text)
    m = _TIME.search(normalized)
    if m is None:
        raise BadTime("缺少时间")
    hour, minute = int(m.group("h")), m.group("m")
    minute_value = 30 if minute == "半" else int(minute or 0)
    if any(w in normalized for w in _PM_WORDS) and hour < 12:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute_value <= 59):
        raise BadTime("时间不对")
    days = find_days(normalized[: m.start()] + " " + normalized[m.end():], now)
    day = days[0].date if days else now.date()
    when = dt.datetime.combine(day, dt.time(hour, minute_value), tzinfo=now.tzinfo)
    if when <= now:
        raise BadTime("这个时间已经过去了")
    if when - now > LONGEST_AHEAD:
        raise BadTime("最多只能定在60天以内")
    return when


async def send(session: AsyncSession, community: Community, notice_id: int, *, by: str, now: dt.datetime
               ) -> tuple[repo.Change, list[Outgoing]]:
    """Sends a draft or scheduled notice now: the change, and the posts to write to the outbox."""
    change = await repo.send_now(session, community.id, notice_id, by=by, now=now)
    if isinstance(change, repo.NotAllowed):
        return change, []
    posts = notice_posts(community, change.notice)
    log.info("notice %s sent by %s to %d group(s)", notice_id, by, len(posts))
    return change, posts


async def due_notices(session: AsyncSession, community: Community, now: dt.datetime) -> list[Outgoing]:
    """The scheduler's `notices` job: scheduled notices whose time has come go out; one that is
    more than GRACE late (the bot was down) is not sent late, and staff are told."""
    out: list[Outgoing] = []
    for notice in await repo.due(session, community.id, now):
        assert notice.send_at is not None
        if now - notice.send_at > GRACE:
            await repo.mark_missed(session, notice)
            log.warning("notice %s of %s missed its time %s", notice.id, community.id, notice.send_at.isoformat())
            group = community.staff_group()
            if group is not None:
                local = notice.send_at.astimezone(now.tzinfo)
                out.append(Outgoing(group.channel, community.id, "group", group.id,
                                    texts.missed(notice.id, local, notice.text),
                                    idempotency_key=f"notice-missed:{notice.id}"))
            continue
        _, posts = await send(session, community, notice.id, by=notice.confirmed_by or notice.author_id, now=now)
        out += posts
    return out


# ---------------------------------------------------------------------------------------------
# In the chat


class NoticeHandler:
    """"通知 全部居民群 …", "通知列表", "取消通知 5", "通知帮助" — from staff."""

    name = "notices"

    def match(self, incoming: Incoming) -> NoticeCommand | None:
        m = incoming.message
        if "通知" not in m.text:
            return None
        staff_group = incoming.community.staff_group()
        # A resident's "通知：…" in a residents' group is talk among neighbours, not a command.
        in_staff_group = staff_group is not None and m.group_id == staff_group.id
        if m.sender_role != "staff" and m.group_id is not None and not in_staff_group:
            return None
        return parse_command(m.text)

    async def handle(self, ctx: Context, command: NoticeCommand) -> None:
        if not ctx.staff_gate(refusal=texts.NOTICE_STAFF_ONLY, wrong_place=texts.NOTICE_NOT_HERE, command="notice"):
            return
        if command.kind == "help":
            ctx.reply(texts.NOTICE_HELP)
        elif command.kind == "list":
            notices, _ = await repo.recent(ctx.session, ctx.community.id, limit=10)
            ctx.reply(texts.listing([
                texts.listing_line(n.id, n.status, n.author_name, n.created_at.astimezone(ctx.tz),
                                   len(n.targets), n.text[:20] + ("…" if len(n.text) > 20 else ""))
                for n in notices]))
        elif command.kind == "cancel":
            assert command.notice_id is not None
            await self._cancel(ctx, command.notice_id)
        else:
            await self._draft(ctx, command)

    async def _draft(self, ctx: Context, command: NoticeCommand) -> None:
        if not command.body:
            ctx.reply(texts.NOTICE_EMPTY)
            return
        if len(command.body) > repo.MAX_TEXT:
            ctx.reply(texts.too_long(len(command.body), repo.MAX_TEXT))
            return
        audience = resolve_audience(ctx.community, command.words)
        if not audience.groups:
            ctx.reply(texts.NOTICE_NO_GROUPS + "\n" + texts.NOTICE_HELP)
            return
        m = ctx.message
        notice = await repo.create(ctx.session, community_id=ctx.community.id, author_id=m.sender_id,
                                   author_name=m.sender_name, text=command.body,
                                   targets=[g.id for g in audience.groups], audience=audience.label, via="chat",
                                   now=ctx.now)
        ctx.reply(preview_text(ctx.community, notice, audience.unknown))
        await ctx.ask(INTENT, "confirm", {"notice": notice.id})

    async def _cancel(self, ctx: Context, notice_id: int) -> None:
        change = await repo.cancel(ctx.session, ctx.community.id, notice_id, now=ctx.now)
        if isinstance(change, repo.Changed):
            log.info("notice %s cancelled by %s", notice_id, ctx.message.sender_id)
            ctx.reply(texts.cancelled(notice_id))
        elif change.notice is None:
            ctx.reply(texts.unknown_notice(notice_id))
        else:
            ctx.reply(texts.not_changeable(notice_id, change.notice.status))


# Only words that mean "send it": a colleague's "好的" in the staff group must not send a notice.
_CONFIRM = re.compile(r"^(?:确认|确定|确认发送|发送|立即发送)(?:吧|了)?$")
_DROP = re.compile(r"^(?:取消|算了|作废|不发了|不发|撤回)(?:吧|了)?$")
_SCHEDULE = re.compile(r"^(?:定时|定在|定时发送|预约发送)\s*[:：]?\s*(?P<when>.+)$")


@dataclass(frozen=True)
class NoticeAnswer:
    kind: str  # confirm | drop | schedule
    when: str = ""


def parse_answer(text: str) -> NoticeAnswer | None:
    """确认 / 取消 / 定时 明天 8:00 (normalized text)."""
    text = text.strip().rstrip("。.!！")
    if _CONFIRM.match(text):
        return NoticeAnswer("confirm")
    if _DROP.match(text):
        return NoticeAnswer("drop")
    m = _SCHEDULE.match(text)
    return NoticeAnswer("schedule", m.group("when")) if m else None


class NoticeReplyHandler:
    """The author's answer to a notice preview: 确认, 定时 …, 取消."""

    name = "notice_reply"

    def match(self, incoming: Incoming) -> NoticeAnswer | None:
        if incoming.conversation is None or incoming.conversation.intent != INTENT:
            return None
        return parse_answer(incoming.text)

    async def handle(self, ctx: Context, answer: NoticeAnswer) -> None:
        state = ctx.conversation
        assert state is not None
        notice_id = int((state.data or {}).get("notice", 0))
        if state.expires_at <= ctx.now:
            await ctx.forget()
            ctx.reply(texts.NOTICE_EXPIRED)
            return
        if not ctx.is_staff:  # the pending question is the author's; their role may have changed since
            await ctx.forget()
            ctx.reply(texts.NOTICE_STAFF_ONLY)
            return
        if answer.kind == "drop":
            await ctx.forget()
            await repo.cancel(ctx.session, ctx.community.id, notice_id, now=ctx.now)
            ctx.reply(texts.NOTICE_DROPPED)
            return
        if answer.kind == "schedule":
            try:
                when = parse_send_time(answer.when, ctx.now)
            except BadTime as exc:
                ctx.reply(texts.bad_time(str(exc)))  # the preview stays open: they may try again
                return
            await ctx.forget()
            change = await repo.schedule(ctx.session, ctx.community.id, notice_id, send_at=when,
                                         by=ctx.message.sender_id, now=ctx.now)
            if isinstance(change, repo.Changed):
                log.info("notice %s scheduled for %s by %s", notice_id, when.isoformat(), ctx.message.sender_id)
                ctx.reply(texts.scheduled(notice_id, when, len(groups_of(ctx.community, change.notice))))
            else:
                ctx.reply(_refused(notice_id, change))
            return
        await ctx.forget()
        change, posts = await send(ctx.session, ctx.community, notice_id, by=ctx.message.sender_id, now=ctx.now)
        if isinstance(change, repo.NotAllowed):
            ctx.reply(_refused(notice_id, change))
            return
        ctx.outgoing.extend(posts)
        groups = groups_of(ctx.community, change.notice)
        ctx.reply(texts.sent(notice_id, len(groups), people_in(ctx.community, groups)))


def _refused(notice_id: int, change: repo.NotAllowed) -> str:
    if change.notice is None:
        return texts.unknown_notice(notice_id)
    return texts.not_changeable(notice_id, change.notice.status)
