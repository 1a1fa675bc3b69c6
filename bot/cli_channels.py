"""`linli outbox failed`: messages the bot could not deliver, with the reason, for staff to follow up.

Permanent failures (a wrong robot key, a follower outside the Official Account's 48 h window, a
WeCom user the app cannot reach) and rows that gave up after their attempts are never retried
and never silently dropped: they stay in the outbox as "failed" and are listed here.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bot.cli import _add_db_options

    p = sub.add_parser("outbox", help="outgoing messages (WeCom, Official Account, simulator)")
    outbox = p.add_subparsers(dest="outbox_command", required=True)
    failed = outbox.add_parser("failed", help="list messages that could not be delivered, newest first")
    failed.add_argument("--since-hours", type=float, default=72.0, help="how far back (default 72 h)")
    failed.add_argument("--json", action="store_true", help="one JSON object per line")
    _add_db_options(failed)


def run(args: argparse.Namespace) -> int | None:
    if args.command != "outbox":
        return None
    from bot.cli import _settings

    return asyncio.run(_failed(_settings(args).database_url, args.since_hours, args.json))


async def _failed(database_url: str, since_hours: float, as_json: bool) -> int:
    from sqlalchemy import select

    from storage.db import Database
    from storage.models import OutboxMessage

    db = Database(database_url)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=since_hours)
    try:
        async with db.transaction() as session:
            rows = (await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == "failed", OutboxMessage.created_at >= since)
                .order_by(OutboxMessage.id.desc())
            )).all()
    finally:
        await db.dispose()
    for r in rows:
        item = {"id": r.id, "channel": r.channel, "to": f"{r.audience}:{r.target}", "attempts": r.attempts,
                "created_at": r.created_at.isoformat(), "error": r.last_error, "text": r.text}
        if as_json:
            print(json.dumps(item, ensure_ascii=False))
        else:
            preview = r.text.replace("\n", " ")[:40]
            print(f"#{r.id} {r.created_at:%Y-%m-%d %H:%M} {r.channel} → {item['to']} ({r.attempts} attempt(s))\n"
                  f"    why:  {r.last_error}\n    text: {preview}")
    if not rows and not as_json:
        print(f"no failed messages in the last {since_hours:g} h", file=sys.stderr)
    return 0
