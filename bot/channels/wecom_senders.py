"""Outbox delivery for the WeChat channels ("wecom", "wecom_aibot", "mp"): one route per delivery.

Handlers address people and groups by their community ids; here those become WeCom userids,
openids, robot keys and chat ids:

- to a person: on the "mp" channel, an Official Account customer-service message to their openid
  (within 48 h of their last message, at most 5 messages per message of theirs); otherwise, and
  for people known only on WeCom (staff, volunteers), a WeCom app message (message/send).
- to a group: the AI bot's one-use `response_url` when the row answers an AI-bot message from
  that group; else the group's robot webhook; else the group's app chat (appchat/send).

Rate limits (one-minute windows shared by all processes, see `RateLimiter`): a robot posts at
most 20 messages a minute, the app sends one member at most 30, and app group chats are paced
per chat and, together, by the corp's person-times a minute (a post to N members costs N).
A row's `mentions` (people to @) reach the group robot's `mentioned_list`; the other routes
ignore them.

Long texts go out in parts split at the byte limit on line boundaries; how many parts went out
is stored, so a retry continues after the last part that got through instead of repeating it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select, update

from bot.channels.wechat_directory import WeChatDirectory
from bot.channels.wecom_api import (
    APPCHAT_CORP_PER_MINUTE,
    APPCHAT_PER_MINUTE,
    MARKDOWN_MAX_BYTES,
    MEMBER_PER_MINUTE,
    ROBOT_PER_MINUTE,
    TEXT_MAX_BYTES,
    GroupRobot,
    MpApi,
    RateLimiter,
    SharedTokens,
    WeChatHttp,
    WeComApi,
    post_response_url,
    split_text,
)
from config.community import Community, Directory
from config.settings import Settings
from core.clock import Clock
from core.delivery import Delivery, PermanentError, Sender, SendNow, TemporaryError
from storage.db import Database
from storage.models import InboxMessage
from storage.models_channels import AibotReplyUrl, DeliveryProgress, MpReplyWindow
from storage.upsert import dialect_insert

log = logging.getLogger("linli.wechat.send")

CHANNELS = ("wecom", "wecom_aibot", "mp")
MP_WINDOW = dt.timedelta(hours=48)
MP_MESSAGES_PER_WINDOW = 5  # customer-service messages allowed per message the follower sends


@dataclass(frozen=True)
class Limit:
    """A rate limit a route's messages count against: `cost` units of `key` each, `per_minute` a window."""

    key: str
    per_minute: int
    cost: int = 1


@dataclass(frozen=True)
class Route:
    name: str  # for logs and errors: "robot g-res-1", "app message staff-li", …
    max_bytes: int
    limits: tuple[Limit, ...]  # every part sent needs its cost in each of them
    send_part: Callable[[str, int], Awaitable[None]]  # (the part's text, its index in the row's parts)


@dataclass
class _Plan:
    """A row ready to go: its route and the parts of its text still to send."""

    delivery: Delivery
    route: Route
    parts: list[str]
    done: int  # parts that went out in an earlier attempt

    @property
    def remaining(self) -> int:
        return len(self.parts) - self.done


class WeChatSender:
    """The `Sender` of the three WeChat channels (`linli.senders[...]` for each name in CHANNELS)."""

    def __init__(self, db: Database, people: WeChatDirectory, clock: Clock, http: WeChatHttp, *,
                 wecom: WeComApi | None = None, robot: GroupRobot | None = None, mp: MpApi | None = None,
                 appchat_corp_per_minute: int = APPCHAT_CORP_PER_MINUTE) -> None:
        self.db = db
        self.people = people
        self.clock = clock
        self.http = http
        self.wecom = wecom
        self.robot = robot
        self.mp = mp
        self.appchat_corp_per_minute = appchat_corp_per_minute
        self.limiter = RateLimiter(db, clock)

    async def close(self) -> None:
        await self.http.close()

    async def send(self, delivery: Delivery) -> None:
        [ready] = await self.prepare([delivery])
        if isinstance(ready, Exception):
            raise ready
        await ready()

    async def prepare(self, deliveries: list[Delivery]) -> list[SendNow | Exception]:
        """Routes each row and reserves the rate limits of all of them in one statement.

        Returns, for each row, the function that sends it (its parts beyond the reserved ones
        raise `Throttled`), or the error that keeps it from going out now.
        """
        plans: list[_Plan | Exception] = []
        for d in deliveries:
            try:
                plans.append(await self._plan(d))
            except (PermanentError, TemporaryError) as exc:
                plans.append(exc)
        limited = [p for p in plans if isinstance(p, _Plan) and p.route.limits and p.remaining]
        wanted = [(limit.key, limit.per_minute, limit.cost * p.remaining) for p in limited for limit in p.route.limits]
        granted = iter(await self.limiter.acquire_many(wanted) if wanted else [])
        # Each row's parts that every one of its limits allows, and the limit that allows the fewest.
        # A row reserves in all its limits at once, in the same statement, and needs all of them:
        # when one grants less than another (the corp budget granted but the chat's own limit not,
        # or the other way round; or only part of a chat's cost left in the corp budget), the
        # surplus stays counted though unused. Like the unused slots of a failed send, that only
        # ever makes the limiter send less than it could, never more than a limit allows.
        allowance: dict[int, tuple[int, Limit]] = {
            id(p): min(((next(granted) // limit.cost, limit) for limit in p.route.limits), key=lambda g: g[0])
            for p in limited}
        ready: list[SendNow | Exception] = []
        for p in plans:
            if isinstance(p, Exception):
                ready.append(p)
                continue
            allowed = allowance.get(id(p))
            if allowed is not None and allowed[0] == 0:
                ready.append(self.limiter.throttled(allowed[1].key, allowed[1].per_minute))
            else:
                ready.append(functools.partial(self._send_plan, p, allowed))
        return ready

    async def _plan(self, d: Delivery) -> _Plan:
        community = self.people.directory.community(d.community)
        if community is None:
            raise PermanentError(f"unknown community {d.community!r}")
        route = await self._route(d, community)
        parts = [p for p in split_text(d.text, route.max_bytes) if p.strip()]
        done = await self._parts_sent(d.id) if len(parts) > 1 else 0
        return _Plan(d, route, parts, done)

    async def _send_plan(self, plan: _Plan, allowed: tuple[int, Limit] | None) -> None:
        """Sends the parts not sent yet; `allowed`: how many the rate limits let through, and the
        limit that stops the rest (None: no limit)."""
        d, route, parts = plan.delivery, plan.route, plan.parts
        for n, index in enumerate(range(plan.done, len(parts))):
            if allowed is not None and n >= allowed[0]:
                raise self.limiter.throttled(allowed[1].key, allowed[1].per_minute)
            await route.send_part(parts[index], index)
            if len(parts) > 1:
                await self._save_parts_sent(d.id, index + 1)
        log.info("outbox row %s sent via %s (%d part(s))", d.id, route.name, plan.remaining)

    # -- choosing the route -------------------------------------------------------------------

    async def _route(self, d: Delivery, community: Community) -> Route:
        if d.audience == "user":
            return await self._user_route(d, community)
        group = community.group(d.target)
        if group is None:
            raise PermanentError(f"unknown group {d.target!r}")
        if d.channel == "wecom_aibot" and len(d.text.encode("utf-8")) <= MARKDOWN_MAX_BYTES:
            reply_url = await self._response_url(d)
            if reply_url is not None:
                return Route(f"aibot reply in {group.id}", MARKDOWN_MAX_BYTES, (),
                             lambda text, _: self._answer_via_response_url(reply_url, text))
        key = self.people.robot_key(group)
        if key is not None:
            robot = self.robot
            if robot is None:
                raise PermanentError("the group robot client is not configured")
            digest = hashlib.sha256(key.encode()).hexdigest()[:16]
            # People to @ (their WeCom userids; "@all" stays as it is), with the first part only:
            # a long text split in parts notifies them once.
            mentioned = [self.people.wecom_userid(community, m) for m in d.mentions]
            return Route(f"robot {group.id}", TEXT_MAX_BYTES, (Limit(f"robot:{digest}", ROBOT_PER_MINUTE),),
                         lambda text, index: robot.send_text(key, text, mentioned if index == 0 else None))
        if group.appchat_id and self.wecom is not None:
            wecom, chat_id = self.wecom, group.appchat_id
            # Mentions are not added here: appchat text would need "<@userid>" inside the content
            # (WeCom ≥ 5.0.6 only; older clients show the markup), which changes what is sent.
            members = community.member_count(group)
            if members > self.appchat_corp_per_minute:
                raise PermanentError(
                    f"group {group.id!r} has {members} members, more than the corp's "
                    f"{self.appchat_corp_per_minute} person-times a minute for app group chats "
                    "(setting wecom_appchat_corp_per_minute)")
            limits = (Limit(f"appchat:{chat_id}", APPCHAT_PER_MINUTE),
                      Limit(f"appchat-corp:{wecom.corp_id}", self.appchat_corp_per_minute, members))
            return Route(f"appchat {group.id}", TEXT_MAX_BYTES, limits,
                         lambda text, _: wecom.appchat_send_text(chat_id, text))
        raise PermanentError(
            f"no way to post in group {group.id!r}: set its robot key (environment variable named by "
            f"robot_key_env) or its appchat_id with the WeCom app configured")

    async def _user_route(self, d: Delivery, community: Community) -> Route:
        if d.channel == "wecom_aibot" and len(d.text.encode("utf-8")) <= MARKDOWN_MAX_BYTES:
            reply_url = await self._response_url(d)
            if reply_url is not None:
                return Route(f"aibot reply to {d.target}", MARKDOWN_MAX_BYTES, (),
                             lambda text, _: self._answer_via_response_url(reply_url, text))
        if d.channel == "mp":
            openid = self.people.mp_openid(community, d.target)
            if openid is not None:
                if self.mp is None:
                    raise PermanentError("the Official Account is not configured (LINLI_MP_APP_ID/_SECRET)")
                return Route(f"OA customer-service message {d.target}", TEXT_MAX_BYTES, (),
                             lambda text, _: self._send_mp(openid, text))
        userid = self.people.wecom_userid(community, d.target)
        if self.wecom is None:
            raise PermanentError(f"cannot message {d.target!r}: the WeCom app is not configured "
                                 "(LINLI_WECOM_CORP_ID/_AGENT_ID/_SECRET)")
        wecom = self.wecom
        return Route(f"app message {d.target}", TEXT_MAX_BYTES, (Limit(f"member:{userid}", MEMBER_PER_MINUTE),),
                     lambda text, _: wecom.send_text(userid, text))

    # -- AI bot response_url ------------------------------------------------------------------

    async def _response_url(self, d: Delivery) -> str | None:
        """The unused response_url of the AI-bot message this row answers, if it is still valid.

        Only for an answer in the same chat: the group it came from, or the sender of a 1:1 message.
        """
        if d.reply_to is None:
            return None
        if d.audience == "group":
            same_chat = InboxMessage.group_id == d.target
        else:
            same_chat = InboxMessage.group_id.is_(None) & (InboxMessage.sender_id == d.target)
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(AibotReplyUrl)
                .join(InboxMessage, (InboxMessage.msg_id == AibotReplyUrl.msg_id)
                      & (InboxMessage.channel == "wecom_aibot"))
                .where(InboxMessage.id == d.reply_to, AibotReplyUrl.used_at.is_(None),
                       AibotReplyUrl.expires_at > self.clock.now(), same_chat)
            )
        return row.response_url if row is not None else None

    async def _answer_via_response_url(self, url: str, text: str) -> None:
        try:
            await post_response_url(self.http, url, text)
        except PermanentError as exc:
            # The URL is spent or expired: the next attempt takes the robot or the app chat.
            await self._mark_response_url_used(url)
            raise TemporaryError(f"{exc}; will post through the group's robot or app chat") from exc
        await self._mark_response_url_used(url)

    async def _mark_response_url_used(self, url: str) -> None:
        async with self.db.transaction() as session:
            await session.execute(update(AibotReplyUrl).where(AibotReplyUrl.response_url == url)
                                  .values(used_at=self.clock.now()))

    # -- Official Account 48 h window ---------------------------------------------------------

    async def _send_mp(self, openid: str, text: str) -> None:
        assert self.mp is not None
        now = self.clock.now()
        async with self.db.transaction() as session:
            window = await session.get(MpReplyWindow, openid)
        if window is None or now - window.last_message_at > MP_WINDOW:
            last = "never" if window is None else window.last_message_at.isoformat()
            raise PermanentError(f"outside the 48 h customer-service window (the follower last wrote: {last})")
        if window.sent_since >= MP_MESSAGES_PER_WINDOW:
            raise PermanentError(f"already sent {window.sent_since} customer-service messages since the "
                                 "follower's last message (the platform allows 5)")
        await self.mp.send_custom_text(openid, text)
        async with self.db.transaction() as session:
            await session.execute(update(MpReplyWindow).where(MpReplyWindow.openid == openid)
                                  .values(sent_since=MpReplyWindow.sent_since + 1))

    # -- progress of multi-part texts ---------------------------------------------------------

    async def _parts_sent(self, outbox_id: int) -> int:
        async with self.db.transaction() as session:
            row = await session.get(DeliveryProgress, outbox_id)
        return row.parts_sent if row is not None else 0

    async def _save_parts_sent(self, outbox_id: int, parts: int) -> None:
        async with self.db.transaction() as session:
            stmt = dialect_insert(session)(DeliveryProgress).values(outbox_id=outbox_id, parts_sent=parts)
            await session.execute(stmt.on_conflict_do_update(index_elements=["outbox_id"],
                                                             set_={"parts_sent": parts}))


def build_wechat_senders(settings: Settings, db: Database, directory: Directory, clock: Clock) -> dict[str, Sender]:
    """The sender of the WeChat channels, with the API clients whose credentials are configured.

    Group robots need no settings (their keys are per group, in the environment), so the sender
    is always there; a route that needs an unconfigured client fails the row with the reason.
    """
    http = WeChatHttp(settings.wechat_http_timeout_seconds)
    tokens = SharedTokens(db, clock)
    wecom = None
    if settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id is not None:
        wecom = WeComApi(http, tokens, base=settings.wecom_api_base, corp_id=settings.wecom_corp_id,
                         secret=settings.wecom_secret, agent_id=settings.wecom_agent_id)
    mp = None
    if settings.mp_app_id and settings.mp_secret:
        mp = MpApi(http, tokens, base=settings.mp_api_base, app_id=settings.mp_app_id, secret=settings.mp_secret)
    sender = WeChatSender(db, WeChatDirectory(directory), clock, http, wecom=wecom,
                          robot=GroupRobot(http, base=settings.wecom_api_base), mp=mp,
                          appchat_corp_per_minute=settings.wecom_appchat_corp_per_minute)
    return {name: sender for name in CHANNELS}
