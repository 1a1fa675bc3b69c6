"""The login lockout: failed staff logins counted per (account, client address) and per address, in the database.

Every process behind the load balancer refuses the same guesser: the counts live in the database,
not in memory. The client's address is the peer's, or the one our own proxy (LINLI_TRUSTED_PROXIES)
reports in X-Forwarded-For.

Why per (account, address) and not per account: a count per account let anyone lock a staff member
out, owner included, with five wrong passwords — and residents see staff names every day. Counted
per pair, a guesser locks only themselves out of that account; the owner, from an address that has
not failed, still gets in. A guesser with many addresses gets 5 guesses per address and 15
minutes, and each address at most 20 failures in all; scrypt keeps every guess expensive.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community, Person
from config.settings import IPNetwork
from core.clock import Clock
from storage.db import Database
from storage.models_channels import ChannelRateCount
from storage.upsert import dialect_insert, rate_count_upsert

LOCKOUT_WINDOW = dt.timedelta(minutes=15)
MAX_FAILS_PER_PAIR = 5  # one account from one address: 5 passwords per 15 minutes
MAX_FAILS_PER_ADDRESS = 20  # one address, all accounts (an office behind one NAT has several staff members)
LOGIN_KEY = "staff-login:"


def client_address(request: web.Request, trusted_proxies: Sequence[IPNetwork]) -> str:
    """Who is logging in: the peer's address, or the client nginx saw when the peer is our proxy.

    X-Forwarded-For is believed only from a peer in `trusted_proxies` (LINLI_TRUSTED_PROXIES:
    loopback by default, where deploy/nginx-linli.conf runs; it appends the address it saw, so the
    last entry is the one to trust, whatever a client put before it). Behind that proxy every
    request comes from the proxy's address: counting the peer would let 20 typos lock out every
    staff member. From any other peer the header is a client's claim and is ignored. IPv6 counts
    per /64, what one subscriber usually gets.
    """
    peer = request.remote or ""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(peer)
    except ValueError:
        ip = None
    forwarded = request.headers.get("X-Forwarded-For", "")
    if ip is not None and forwarded and is_trusted(peer, trusted_proxies):
        try:
            ip = ipaddress.ip_address(forwarded.rsplit(",", 1)[-1].strip())
        except ValueError:
            pass  # a proxy we trust sent garbage: count the proxy
    if ip is None:
        return peer or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def is_trusted(peer: str | None, trusted: Sequence[IPNetwork]) -> bool:
    """Whether the peer's address is one of our proxies (LINLI_TRUSTED_PROXIES)."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(peer or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
    return any(ip in network for network in trusted)


@dataclass(frozen=True)
class LoginAttempt:
    pair_key: str
    address_key: str
    window_end: dt.datetime
    refused: bool
    retry_after: float  # seconds until the window ends
    pair_count: int
    address_count: int


def account_of(login: str, found: tuple[Community, Person] | None) -> str:
    """Whose account a login names: a staff member's "community/id", or a digest of the name typed.

    Other names are normalised and kept only as a digest: people type passwords into the login
    field, and the counts table is no place for them."""
    if found is not None:
        account = f"{found[0].id}/{found[1].id}"
        if len(account) <= 64:
            return account
    name = unicodedata.normalize("NFKC", login).strip().casefold()
    return "?" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class LoginThrottle:
    """Failed staff logins per (account, address) and per address, in fixed 15-minute windows.

    The counts live in `channel_rate_counts`, the table of the outbox's `RateLimiter`
    (bot/channels/wecom_api.py), with keys "staff-login:pair:<account>@<address>" /
    "staff-login:addr:<address>", and are kept the same way: one `INSERT … ON CONFLICT DO UPDATE
    SET count = count + 1 … RETURNING` (SQLite and PostgreSQL), which the database serialises per
    key, so processes sharing one database share the counts and parallel guesses cannot slip past
    the limit. Every attempt reserves its slot before the password is checked (a check costs
    ~50 ms, and guesses sent in parallel must count); a successful login gives its slot back.

    For these rows `window_start` holds the window's *end*: the rate limiter deletes rows whose
    `window_start` is more than a minute old, so it removes them only once their window is over
    (a real start would be deleted within two minutes, and with it the lockout).
    """

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._upsert = rate_count_upsert(dialect_insert(db))

    @staticmethod
    def pair_key(account: str, address: str) -> str:
        key = f"{LOGIN_KEY}pair:{account}@{address}"
        if len(key) <= 160:
            return key
        return f"{LOGIN_KEY}pair:#{hashlib.sha256(key.encode()).hexdigest()[:40]}"

    def _window_end(self, now: dt.datetime) -> dt.datetime:
        span = int(LOCKOUT_WINDOW.total_seconds())
        start = int(now.timestamp()) // span * span
        return dt.datetime.fromtimestamp(start + span, dt.UTC)

    async def attempt(self, account: str, address: str) -> LoginAttempt:
        """Counts one login attempt; `refused` once either count is over its limit in this window."""
        now = self.clock.now()
        end = self._window_end(now)
        pair_key = self.pair_key(account, address)
        address_key = f"{LOGIN_KEY}addr:{address}"[:160]
        # Sorted keys: two processes lock the two rows in the same order (no deadlock).
        params = [{"key": k, "window_start": end, "count": 1} for k in sorted((pair_key, address_key))]
        async with self.db.transaction() as session:
            counts: dict[str, int] = {key: count for key, count in await session.execute(self._upsert, params)}
        pair_count, address_count = counts[pair_key], counts[address_key]
        refused = pair_count > MAX_FAILS_PER_PAIR or address_count > MAX_FAILS_PER_ADDRESS
        return LoginAttempt(pair_key, address_key, end, refused, (end - now).total_seconds(), pair_count,
                            address_count)

    async def succeeded(self, attempt: LoginAttempt) -> None:
        """A right password: its slot on the address is given back, and the pair's count is reset.

        The pair's count is reset because only someone who knows the password can do this: the
        owner's typos of this morning should not add up with the next ones. The address's count is
        not reset: one right password (a colleague's, at the same office or attacker's address)
        must not wipe out the failures of the guesses around it.
        """
        table = ChannelRateCount.__table__
        async with self.db.transaction() as session:
            # "…addr:…" before "…pair:…", the order `attempt` locks them in (no deadlock).
            await session.execute(update(table).where(
                table.c.key == attempt.address_key, table.c.window_start == attempt.window_end, table.c.count > 0,
            ).values(count=table.c.count - 1))
            await session.execute(delete(table).where(table.c.key == attempt.pair_key))

    async def forget_ended(self, session: AsyncSession) -> None:
        """Deletes the counts of windows that are over (the rate limiter does it too when it runs)."""
        table = ChannelRateCount.__table__
        await session.execute(delete(table).where(table.c.key.startswith(LOGIN_KEY),
                                                  table.c.window_start < self.clock.now()))
