"""Commands on requests: "#12 处理中", "#12 已解决 换了水阀", "#12 上报街道", "#12 驳回 …", "#12 指派 王网格员",
"#12 改为 报修", "#12 拆分 张秀兰", "#12 进度", "#12 联系方式", "#12 回复 …", "代报 …", "我的工单".

Matched on the text itself before any classifier label counts ("#12 已解决 换了水阀" mentions a water
valve but is not a repair report). The command words are data (`requests.command_words`); what
follows a status word is the note, unless it is only a particle ("#5 在处理了" stores no note "了").
Who may do what: configured staff everything, in the staff or street group or privately; the
volunteers of the team a request was given to may see its residents' contacts, reply to them and
mark it answered (not in a residents' group); a resident may ask the progress of their own. Any
other "#…" or command word gets a short usage line, never silence and never a report.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from config.community import RequestRules, cached_on
from handlers import texts_request_life as life
from handlers import texts_requests as texts
from handlers.base import Context, Incoming
from handlers.request_changes import apply_change, assign_owner, recategorize, split_out
from handlers.request_contacts import contacts, tell_reporters
from handlers.request_proxy import file_for_resident
from handlers.request_status import my_tasks, progress
from storage import request_life_repo as life_repo
from storage import requests_repo as repo
from storage.models_requests import Request

log = logging.getLogger("linli.requests")

STATUS_ACTIONS = ("acknowledged", "in_progress", "resolved", "closed", "rejected", "tier:street", "tier:community",
                  "tier:grid")
# Actions the volunteers of a request's team may take on it.
TEAM_ACTIONS = ("resolved", "progress", "contact", "reply")
# Words that only ever start a command: alone or with a wrong number they get the usage line.
STARTERS = ("assign", "category", "split", "tier:street", "tier:community", "tier:grid")
# Full-width ＃ and digits as typed on phones; the rest of the text (the note) is kept as written.
_FULLWIDTH = str.maketrans("＃０１２３４５６７８９\u3000", "#0123456789 ")
_MENTIONS = re.compile(r"^\s*(?:@\S+\s+)+")
_NUMBERED = re.compile(r"^\s*#\s*(\d{1,9})(\s*)(.*)$", re.S)
_UNNUMBERED = re.compile(r"^\s*#\s*(.*)$", re.S)
_BUILDING_AFTER = re.compile(r"^(?:号楼|号|楼|栋|幢|单元|#)")
_LEAD_PARTICLES = re.compile(r"^[了啦呢哈哦喔吧啊呀嘛咯噢]+(?=[\s:：,，、。.!！?？~～-]|$)")
_NOTE_LEAD = re.compile(r"^[\s:：,，、。.!！?？~～-]+")


_DEFAULT_RULES = RequestRules()


@dataclass(frozen=True)
class RequestCommand:
    """`kind` is an action of `requests.command_words` ("in_progress", "assign" …), or "usage",
    "proxy" (代报), "my_tasks" (我的工单); `arg` is the note, the owner, the category …"""

    kind: str
    request_id: int | None = None
    arg: str | None = None


def clean_note(rest: str) -> str | None:
    """What follows a command word, without separators and a lone particle ("了", "啦")."""
    rest = _NOTE_LEAD.sub("", _LEAD_PARTICLES.sub("", _NOTE_LEAD.sub("", rest)))
    return rest.strip().rstrip(" 。.!！?？~～") or None


@dataclass(frozen=True)
class _Words:
    verbs: tuple[tuple[str, str], ...]  # (word, action), longest first
    starters: tuple[str, ...]  # words that only ever start a command
    proxy: tuple[str, ...]  # 代报 …, longest first


def _words(rules: RequestRules) -> _Words:
    """The command words of a community file, sorted once (every message is tried as a command)."""
    def build() -> _Words:
        verbs = tuple(sorted(((w, action) for action, words in rules.command_words.items() for w in words),
                             key=lambda wa: -len(wa[0])))
        return _Words(verbs, tuple(w for w, action in verbs if action in STARTERS),
                      tuple(sorted(rules.proxy_words, key=len, reverse=True)))

    return cached_on(rules, "command_words", (rules.command_words, rules.proxy_words), build)


def parse_command(text: str, rules: RequestRules | None = None) -> RequestCommand | None:
    """"#12 已解决 换了水阀" -> RequestCommand("resolved", 12, "换了水阀"); None if it is no command."""
    rules = rules or _DEFAULT_RULES
    words = _words(rules)
    text = _MENTIONS.sub("", text.translate(_FULLWIDTH)).strip()
    numbered = _NUMBERED.match(text)
    if numbered:
        number, rest = int(numbered.group(1)), numbered.group(3).strip()
        if not numbered.group(2) and _BUILDING_AFTER.match(rest):  # "#3楼漏水了": a resident's report
            return None
        for verb, action in words.verbs:
            if rest.startswith(verb):
                return RequestCommand(action, number, clean_note(rest[len(verb):]))
        return RequestCommand("usage", number, rest or None)
    if _UNNUMBERED.match(text):
        return RequestCommand("usage", None, text[1:].strip() or None)
    for word in words.proxy:
        if text.startswith(word):
            return RequestCommand("proxy", None, clean_note(text[len(word):]))
    compact = text.rstrip(" ?？。.!！")
    if compact in rules.my_tasks_words:
        return RequestCommand("my_tasks")
    if text and text.startswith(words.starters):
        return RequestCommand("usage", None, text)
    return None


class StaffCommandHandler:
    """Every command on requests (the name is kept: the registry lists it first)."""

    name = "request_commands"

    def match(self, incoming: Incoming) -> RequestCommand | None:
        command = parse_command(incoming.command_text, incoming.community.requests)
        if command is not None and command.kind == "usage" and command.request_id is None \
                and not incoming.command_text.startswith(("#", "＃")) and _resident_chat(incoming):
            return None  # "改成周六吧" from a resident is no command: it may answer a booking question
        return command

    async def handle(self, ctx: Context, command: RequestCommand) -> None:
        kind = command.kind
        if kind == "usage":
            ctx.reply(_usage(ctx))
        elif kind == "proxy":
            if self._staff_here(ctx):
                await file_for_resident(ctx, command.arg or "")
        elif kind == "my_tasks":
            if self._staff_or_volunteer(ctx):
                await my_tasks(ctx)
        else:
            assert command.request_id is not None
            req = await repo.get_request(ctx.session, ctx.community.id, command.request_id)
            await self._on_request(ctx, command, req)

    async def _on_request(self, ctx: Context, command: RequestCommand, req: Request | None) -> None:
        m, kind, number = ctx.message, command.kind, command.request_id
        assert number is not None
        if kind == "progress":
            await progress(ctx, number, req, team_member=_on_team(ctx, req))
            return
        if _on_team(ctx, req) and not ctx.is_staff and kind in TEAM_ACTIONS:
            if not _team_place(ctx):
                ctx.reply(texts.STAFF_GROUP_ONLY)
                return
        elif not self._staff_here(ctx):
            return
        actor = repo.Actor(m.sender_id, m.sender_name)
        if kind == "contact":
            await _send_contacts(ctx, number, req)
        elif kind == "reply":
            await _relay_reply(ctx, number, req, command.arg)
        elif kind in STATUS_ACTIONS:
            if kind == "rejected" and not command.arg:
                ctx.reply(texts.REJECT_NEEDS_REASON)
                return
            outcome = await apply_change(ctx.session, ctx.community, number, kind, actor=actor, now=ctx.now,
                                         note=command.arg)
            log.info("%s: #%s %s -> %s", m.sender_id, number, kind, type(outcome.result).__name__)
            ctx.reply(outcome.staff_text)
            ctx.outgoing.extend(outcome.outgoing)
        elif not command.arg:
            ctx.reply(life.SPLIT_NEEDS_WHO if kind == "split" else life.STAFF_USAGE)
        elif kind == "assign":
            outcome = await assign_owner(ctx.session, ctx.community, number, command.arg, actor=actor, now=ctx.now)
            ctx.reply(outcome.staff_text)
            ctx.outgoing.extend(outcome.outgoing)
        elif kind == "category":
            category = ctx.community.requests.category_named(command.arg)
            if category is None:
                names = [texts.category_name(c) for c in ctx.community.requests.category_tiers]
                ctx.reply(life.unknown_category(command.arg, names))
                return
            outcome = await recategorize(ctx.session, ctx.community, number, category, actor=actor, now=ctx.now)
            ctx.reply(outcome.staff_text)
            ctx.outgoing.extend(outcome.outgoing)
        elif kind == "split":
            outcome = await split_out(ctx.session, ctx.community, number, command.arg, actor=actor, now=ctx.now)
            ctx.reply(outcome.staff_text)
            ctx.outgoing.extend(outcome.outgoing)

    @staticmethod
    def _staff_here(ctx: Context) -> bool:
        return ctx.staff_gate(refusal=texts.STAFF_ONLY, wrong_place=texts.STAFF_GROUP_ONLY, command="request")

    @staticmethod
    def _staff_or_volunteer(ctx: Context) -> bool:
        if ctx.is_staff or ctx.message.sender_role == "volunteer":
            return True
        ctx.reply(life.RESIDENT_USAGE)
        return False


def _resident_chat(incoming: Incoming) -> bool:
    """A resident speaking in a residents' group or privately (not staff, not a volunteer)."""
    m = incoming.message
    if m.sender_role != "resident" or m.sender_id in incoming.community.staff_ids():
        return False
    return not incoming.in_work_group


def _on_team(ctx: Context, req: Request | None) -> bool:
    """The sender is a member of the volunteer team the request was given to."""
    team = ctx.community.team(req.team) if req is not None and req.team else None
    return team is not None and ctx.message.sender_id in team.members


def _team_place(ctx: Context) -> bool:
    group = ctx.community.group(ctx.message.group_id) if ctx.message.group_id else None
    return group is None or group.kind in ("volunteers", "staff")


def _usage(ctx: Context) -> str:
    if ctx.is_staff:
        return life.STAFF_USAGE
    if ctx.message.sender_role == "volunteer" and (ctx.message.group_id is None or not _residents_group(ctx)):
        return life.TEAM_USAGE
    return life.RESIDENT_USAGE


def _residents_group(ctx: Context) -> bool:
    group = ctx.community.group(ctx.message.group_id) if ctx.message.group_id else None
    return group is not None and group.kind == "residents"


async def _send_contacts(ctx: Context, number: int, req: Request | None) -> None:
    """The residents' names, numbers and addresses, privately, whatever chat it was asked in."""
    if req is None:
        ctx.reply(texts.not_found(number))
        return
    lines = contacts(ctx.community, req, await repo.reporters(ctx.session, req.id))
    ctx.tell(ctx.message.sender_id, life.contact_private(req.id, lines))
    if ctx.message.group_id is not None:
        ctx.reply(life.contact_sent(req.id))


async def _relay_reply(ctx: Context, number: int, req: Request | None, note: str | None) -> None:
    """A volunteer's (or staff member's) answer goes to every resident who asked, privately."""
    if req is None:
        ctx.reply(texts.not_found(number))
        return
    if not note:
        ctx.reply(life.NO_NOTE_TO_REPLY)
        return
    m = ctx.message
    team = ctx.community.team(req.team) if req.team else None
    by = team.name if team is not None and _on_team(ctx, req) else ctx.community.name
    ctx.outgoing.extend(await tell_reporters(ctx.session, ctx.community, req,
                                             lambda _: life.volunteer_reply_private(req.id, by, note)))
    await life_repo.record(ctx.session, req.id, "reply", actor=repo.Actor(m.sender_id, m.sender_name), now=ctx.now,
                           note=note)
    log.info("%s replied to the residents of #%s", m.sender_id, req.id)
    ctx.reply(life.reply_sent(req.id))
