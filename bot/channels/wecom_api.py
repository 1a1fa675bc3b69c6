"""The WeCom and Official Account JSON APIs over aiohttp: tokens, sends, rate limits, error mapping.

wechatpy's client is `requests`-based (blocking, no timeout by default), so only its crypto and
XML helpers are used; every HTTP call here is aiohttp with a timeout. Platform answers become
`TemporaryError` (worth retrying: network, 5xx, busy, rate limit) or `PermanentError` (the
request itself is wrong: bad key, unknown user, outside the 48 h window). Error texts never
contain the URL, because the URL carries the access_token or the robot key.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from sqlalchemy import delete, select

from core.clock import Clock
from core.delivery import PermanentError, TemporaryError
from storage.db import Database
from storage.models_channels import ChannelRateCount, ChannelToken
from storage.upsert import dialect_insert, rate_count_upsert

log = logging.getLogger("linli.wechat.api")

# Byte limits of one message (utf-8), from the platforms' documentation (shared/notes/wechat-protocol.md §4).
TEXT_MAX_BYTES = 2048  # message/send, appchat/send and webhook text
MARKDOWN_MAX_BYTES = 4096  # webhook markdown
# Per-target send limits (§4.2, §4.4): a robot posts at most 20 messages a minute; one app may send
# one member at most 30 a minute (the excess is dropped silently by WeCom, so we must not exceed it).
ROBOT_PER_MINUTE = 20
MEMBER_PER_MINUTE = 30
APPCHAT_PER_MINUTE = 20  # our own pace for app group chats (each member gets ≤200/min across chats)
# All app group chats of a corp together (§4.3): ≤20,000 person-times a minute, a post to a chat
# of N members costing N (setting wecom_appchat_corp_per_minute).
APPCHAT_CORP_PER_MINUTE = 20_000

WECOM_TOKEN_ERRORS = frozenset({40014, 42001})  # invalid / expired access_token
MP_TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # 40001 also means "not the latest token" on the OA
BUSY = frozenset({-1})  # system busy: retry
THROTTLED = frozenset({45009, 45033})  # over the API frequency / concurrency limit
# Refresh the token this long before WeChat says it expires (wechatpy uses 60 s).
TOKEN_MARGIN = dt.timedelta(minutes=5)
# WeChat's answers are JSON of a few hundred bytes: one larger than this is not read further (a
# misbehaving server, or something in between, must not fill the bot's memory).
MAX_ANSWER_BYTES = 256 * 1024


class TooLarge(PermanentError):
    """A download over the size limit (its size when the server said it, else None): not read further."""

    def __init__(self, message: str, *, size: int | None) -> None:
        super().__init__(message)
        self.size = size


class Throttled(TemporaryError):
    """Try again after `retry_after` seconds; a local rate-limit wait does not count as an attempt."""

    def __init__(self, message: str, *, retry_after: float, counts_as_attempt: bool) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.counts_as_attempt = counts_as_attempt


def errcode_of(data: dict[str, Any]) -> int:
    try:
        return int(data.get("errcode") or 0)
    except (TypeError, ValueError):
        return -1


def raise_for_errcode(data: dict[str, Any], what: str, *, temporary: frozenset[int] = frozenset()) -> None:
    """Maps a non-zero errcode to Temporary/PermanentError (unknown codes: the request is wrong)."""
    code = errcode_of(data)
    if code == 0:
        return
    text = f"{what}: errcode {code} {str(data.get('errmsg', ''))[:200]}".rstrip()
    if code in THROTTLED:
        raise Throttled(text, retry_after=60.0, counts_as_attempt=True)
    if code in BUSY or code in temporary:
        raise TemporaryError(text)
    raise PermanentError(text)


def split_text(text: str, max_bytes: int) -> list[str]:
    """Splits `text` into parts of at most `max_bytes` utf-8 bytes, at line ends where possible."""
    if len(text.encode("utf-8")) <= max_bytes:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        if len((current + line).encode("utf-8")) <= max_bytes:
            current += line
            continue
        if current.strip():
            parts.append(current.rstrip("\n"))
        current = ""
        while len(line.encode("utf-8")) > max_bytes:  # one line longer than a message: cut it
            size, cut = 0, 0
            for ch in line:
                size += len(ch.encode("utf-8"))
                if size > max_bytes:
                    break
                cut += 1
            parts.append(line[:cut])
            line = line[cut:]
        current = line
    if current.strip():
        parts.append(current.rstrip("\n"))
    return parts


async def read_capped(resp: aiohttp.ClientResponse, limit: int, what: str) -> bytes:
    """The answer's body, or TemporaryError once it is longer than `limit` bytes (read no further)."""
    if resp.content_length is not None and resp.content_length > limit:
        raise TemporaryError(f"{what}: the answer is {resp.content_length} bytes, more than {limit}")
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise TemporaryError(f"{what}: the answer is more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class WeChatHttp:
    """One aiohttp session (created on first use, inside the event loop) with a total timeout."""

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def request(self, method: str, url: str, what: str, *, params: dict[str, str] | None = None,
                      body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
        try:
            async with self._client().request(method, url, params=params, data=data, headers=headers) as resp:
                status, raw = resp.status, await read_capped(resp, MAX_ANSWER_BYTES, what)
        except TimeoutError:
            raise TemporaryError(f"{what}: no answer within {self.timeout.total:g} s") from None
        except aiohttp.ClientError as exc:
            raise TemporaryError(f"{what}: network error {type(exc).__name__}") from None
        if status == 429 or status >= 500:
            raise TemporaryError(f"{what}: HTTP {status}")
        if status != 200:
            raise PermanentError(f"{what}: HTTP {status}")
        try:
            parsed = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise TemporaryError(f"{what}: the answer is not JSON") from None
        if not isinstance(parsed, dict):
            raise TemporaryError(f"{what}: the answer is not a JSON object")
        return parsed


    async def download(self, url: str, what: str, *, max_bytes: int, params: dict[str, str] | None = None
                       ) -> tuple[bytes, str]:
        """The body (at most `max_bytes`, else `TooLarge`) and its content type, of a GET."""
        try:
            async with self._client().get(url, params=params) as resp:
                if resp.status == 429 or resp.status >= 500:
                    raise TemporaryError(f"{what}: HTTP {resp.status}")
                if resp.status != 200:
                    raise PermanentError(f"{what}: HTTP {resp.status}")
                if resp.content_length is not None and resp.content_length > max_bytes:
                    raise TooLarge(f"{what}: {resp.content_length} bytes", size=resp.content_length)
                body = bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > max_bytes:
                        raise TooLarge(f"{what}: more than {max_bytes} bytes", size=None)
                return bytes(body), resp.content_type
        except TimeoutError:
            raise TemporaryError(f"{what}: no answer within {self.timeout.total:g} s") from None
        except aiohttp.ClientError as exc:
            raise TemporaryError(f"{what}: network error {type(exc).__name__}") from None


class SharedTokens:
    """access_tokens in the database: one fetch serves every process until shortly before expiry."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def get(self, key: str) -> str | None:
        found = await self.get_with_expiry(key)
        return found[0] if found is not None else None

    async def get_with_expiry(self, key: str) -> tuple[str, dt.datetime] | None:
        """The token and when it stops being usable here (its expiry less TOKEN_MARGIN), if it still is."""
        async with self.db.transaction() as session:
            row = await session.get(ChannelToken, key)
        if row is None or row.expires_at - TOKEN_MARGIN <= self.clock.now():
            return None
        return row.token, row.expires_at - TOKEN_MARGIN

    async def put(self, key: str, token: str, expires_in: int) -> dt.datetime:
        """Stores the token; returns when it stops being usable (its expiry less TOKEN_MARGIN)."""
        now = self.clock.now()
        values = {"key": key, "token": token, "expires_at": now + dt.timedelta(seconds=expires_in), "updated_at": now}
        async with self.db.transaction() as session:
            stmt = dialect_insert(session)(ChannelToken).values(**values)
            await session.execute(stmt.on_conflict_do_update(
                index_elements=["key"],
                set_={"token": stmt.excluded.token, "expires_at": stmt.excluded.expires_at,
                      "updated_at": stmt.excluded.updated_at}))
        return values["expires_at"] - TOKEN_MARGIN

    async def drop(self, key: str, token: str) -> None:
        """Forgets `token` unless another process already replaced it."""
        async with self.db.transaction() as session:
            await session.execute(delete(ChannelToken).where(ChannelToken.key == key, ChannelToken.token == token))


FetchToken = Callable[[bool], Awaitable[tuple[str, int]]]  # (force) -> (token, expires_in)


class TokenProvider:
    """The access_token of one app. The database is the source of truth (another process may
    refresh the token); this process keeps a copy in memory only until that token's own expiry
    (less TOKEN_MARGIN), and drops it as soon as WeChat rejects it (`refresh`)."""

    def __init__(self, key: str, store: SharedTokens, fetch: FetchToken) -> None:
        self.key = key
        self.store = store
        self.fetch = fetch
        self._lock = asyncio.Lock()  # one fetch per process at a time
        self._memory: tuple[str, dt.datetime] | None = None  # (token, usable until)

    def _remembered(self) -> str | None:
        if self._memory is not None and self.store.clock.now() < self._memory[1]:
            return self._memory[0]
        self._memory = None
        return None

    async def token(self, *, force: bool = False) -> str:
        cached = self._remembered()
        if cached is not None:
            return cached
        async with self._lock:
            cached = self._remembered()
            if cached is not None:
                return cached
            stored = await self.store.get_with_expiry(self.key)
            if stored is not None:
                self._memory = stored
                return stored[0]
            token, expires_in = await self.fetch(force)
            self._memory = (token, await self.store.put(self.key, token, expires_in))
            log.info("fetched a new access_token for %s (valid %d s)", self.key, expires_in)
            return token

    async def refresh(self, stale: str) -> str:
        """A token WeChat rejected (40014/42001): drop it and get another (shared by all processes)."""
        if self._memory is not None and self._memory[0] == stale:
            self._memory = None
        await self.store.drop(self.key, stale)
        return await self.token(force=True)


class RateLimiter:
    """Fixed one-minute windows per target, counted in the database so all processes share them.

    One statement reserves the sends of a whole step: an `INSERT … ON CONFLICT DO UPDATE SET
    count = count + n … RETURNING count` over every key of the step. The database serialises the
    updates of one key's row, so each reservation gets the slots [count - n, count) of its window,
    and only those below the limit are granted: the grants of all processes in one window never add
    up to more than the limit. Slots reserved but not used (the send failed, or the rest of a
    target's rows waited) stay counted: the limiter errs on the side of sending less.
    """

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._upsert = rate_count_upsert(dialect_insert(db))
        self._cleaned: dt.datetime | None = None  # the window whose older rows this process deleted

    def _window(self) -> tuple[dt.datetime, dt.datetime]:
        now = self.clock.now().astimezone(dt.UTC)
        return now, now.replace(second=0, microsecond=0)

    async def acquire_many(self, wanted: Sequence[tuple[str, int, int]]) -> list[int]:
        """Reserves, for each (key, per_minute, n), up to n sends in this minute; returns how many it got.

        Requests for the same key are served in the order given. One transaction for all of them.
        """
        totals: dict[str, int] = {}
        for key, _, n in wanted:
            totals[key] = totals.get(key, 0) + n
        if not totals:
            return [0] * len(wanted)
        _, window = self._window()
        # Sorted keys: two processes lock the rows of common keys in the same order (no deadlock).
        params = [{"key": key, "window_start": window, "count": totals[key]} for key in sorted(totals)]
        async with self.db.engine.begin() as conn:
            counts: dict[str, int] = {key: count for key, count in await conn.execute(self._upsert, params)}
            if self._cleaned != window:
                # Old windows are useless: delete them, once a minute per process. The previous
                # window is kept, for processes whose clock is a little behind.
                await conn.execute(delete(_RATE).where(_RATE.c.window_start < window - dt.timedelta(minutes=1)))
                self._cleaned = window
        used = {key: counts[key] - totals[key] for key in totals}  # slots taken before this reservation
        granted: list[int] = []
        for key, per_minute, n in wanted:
            got = max(0, min(n, per_minute - used[key]))
            used[key] += n
            granted.append(got)
        return granted

    async def acquire(self, key: str, per_minute: int) -> None:
        """One send to `key`, or `Throttled` until the next window."""
        [got] = await self.acquire_many([(key, per_minute, 1)])
        if not got:
            raise self.throttled(key, per_minute)

    def throttled(self, key: str, per_minute: int) -> Throttled:
        """The error for a send over the limit: try again when the window ends (not an attempt)."""
        now, window = self._window()
        wait = (window + dt.timedelta(minutes=1) - now).total_seconds()
        return Throttled(f"rate limit {per_minute}/min for {key.split(':')[0]} reached",
                         retry_after=max(wait, 1.0), counts_as_attempt=False)


_RATE = ChannelRateCount.__table__


class WeComApi:
    """The self-built app's endpoints: gettoken, message/send, appchat/send."""

    def __init__(self, http: WeChatHttp, tokens: SharedTokens, *, base: str, corp_id: str, secret: str,
                 agent_id: int) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = agent_id
        self.tokens = TokenProvider(f"wecom:{corp_id}:{agent_id}", tokens, self._fetch_token)

    async def _fetch_token(self, force: bool) -> tuple[str, int]:
        data = await self.http.request("GET", f"{self.base}/cgi-bin/gettoken", "wecom gettoken",
                                       params={"corpid": self.corp_id, "corpsecret": self.secret})
        # A wrong secret (40001) or corp id (40013) is retried too: the operator can fix the
        # environment and restart before the rows give up, and then nothing is lost.
        raise_for_errcode(data, "wecom gettoken", temporary=frozenset({40001, 40013}))
        token, expires_in = data.get("access_token"), data.get("expires_in", 7200)
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise TemporaryError("wecom gettoken: no access_token in the answer")
        return token, expires_in

    async def call(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        token = await self.tokens.token()
        data = await self.http.request("POST", f"{self.base}{path}", what, params={"access_token": token}, body=body)
        if errcode_of(data) in WECOM_TOKEN_ERRORS:  # expired early or revoked: one fresh token, once
            token = await self.tokens.refresh(token)
            data = await self.http.request("POST", f"{self.base}{path}", what, params={"access_token": token},
                                           body=body)
        raise_for_errcode(data, what, temporary=WECOM_TOKEN_ERRORS)
        return data

    async def send_message(self, userid: str, msgtype: str, payload: dict[str, Any]) -> None:
        body = {"touser": userid, "msgtype": msgtype, "agentid": self.agent_id, msgtype: payload, "safe": 0}
        what = f"wecom message/send to {userid}"
        data = await self.call("/cgi-bin/message/send", body, what)
        if data.get("invaliduser"):
            raise PermanentError(f"{what}: not a member the app can reach")

    async def send_text(self, userid: str, content: str) -> None:
        await self.send_message(userid, "text", {"content": content})

    async def send_markdown(self, userid: str, content: str) -> None:
        await self.send_message(userid, "markdown", {"content": content})

    async def send_textcard(self, userid: str, title: str, description: str, url: str, btntxt: str = "详情") -> None:
        await self.send_message(userid, "textcard",
                                {"title": title, "description": description, "url": url, "btntxt": btntxt})

    async def appchat_send_text(self, chatid: str, content: str) -> None:
        body = {"chatid": chatid, "msgtype": "text", "text": {"content": content}, "safe": 0}
        await self.call("/cgi-bin/appchat/send", body, f"wecom appchat/send to {chatid}")


class GroupRobot:
    """Group robot webhooks (webhook/send?key=…): the key is the only credential."""

    def __init__(self, http: WeChatHttp, *, base: str) -> None:
        self.http = http
        self.base = base.rstrip("/")

    async def _post(self, key: str, body: dict[str, Any]) -> None:
        data = await self.http.request("POST", f"{self.base}/cgi-bin/webhook/send", "wecom webhook/send",
                                       params={"key": key}, body=body)
        raise_for_errcode(data, "wecom webhook/send")

    async def send_text(self, key: str, content: str, mentioned_list: list[str] | None = None) -> None:
        text: dict[str, Any] = {"content": content}
        if mentioned_list:
            text["mentioned_list"] = mentioned_list
        await self._post(key, {"msgtype": "text", "text": text})

    async def send_markdown(self, key: str, content: str) -> None:
        await self._post(key, {"msgtype": "markdown", "markdown": {"content": content}})


async def post_response_url(http: WeChatHttp, url: str, content: str) -> None:
    """Answers one AI-bot message through its one-use `response_url` (no token, no encryption)."""
    data = await http.request("POST", url, "wecom aibot response_url",
                              body={"msgtype": "markdown", "markdown": {"content": content}})
    raise_for_errcode(data, "wecom aibot response_url")


class MpApi:
    """The Official Account: stable_token and customer-service messages (message/custom/send)."""

    def __init__(self, http: WeChatHttp, tokens: SharedTokens, *, base: str, app_id: str, secret: str) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self.app_id = app_id
        self.secret = secret
        self.tokens = TokenProvider(f"mp:{app_id}", tokens, self._fetch_token)

    async def _fetch_token(self, force: bool) -> tuple[str, int]:
        # stable_token, not /token: a /token fetch invalidates the token other processes hold.
        data = await self.http.request(
            "POST", f"{self.base}/cgi-bin/stable_token", "mp stable_token",
            body={"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret,
                  "force_refresh": force})
        raise_for_errcode(data, "mp stable_token", temporary=frozenset({40001, 40013, 40125}))
        token, expires_in = data.get("access_token"), data.get("expires_in", 7200)
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise TemporaryError("mp stable_token: no access_token in the answer")
        return token, expires_in

    async def send_custom_text(self, openid: str, content: str) -> None:
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        what = "mp message/custom/send"
        url = f"{self.base}/cgi-bin/message/custom/send"
        token = await self.tokens.token()
        data = await self.http.request("POST", url, what, params={"access_token": token}, body=body)
        if errcode_of(data) in MP_TOKEN_ERRORS:
            token = await self.tokens.refresh(token)
            data = await self.http.request("POST", url, what, params={"access_token": token}, body=body)
        raise_for_errcode(data, what, temporary=MP_TOKEN_ERRORS)


async def token_row(db: Database, key: str) -> ChannelToken | None:
    """The cached token row (for operators and tests)."""
    async with db.transaction() as session:
        return await session.scalar(select(ChannelToken).where(ChannelToken.key == key))
