"""`linli sessions list [--json]` and `linli bookings export [--service S] [--date D] [--format csv|json]`."""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import sys
from typing import Any, TextIO
from zoneinfo import ZoneInfo

BOOKING_FIELDS = ("code", "service", "session_id", "session_start", "resident_id", "status", "created_at", "item")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bot.cli import _add_db_options, _parse_now
    from bot.cli_jobs import _date

    p = sub.add_parser("sessions", help="service sessions (materialized from config, or added by staff)")
    sessions = p.add_subparsers(dest="sessions_command", required=True)
    ls = sessions.add_parser("list", help="each session: id, service, start, end, capacity, booked, waitlisted")
    ls.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    ls.add_argument("--all", action="store_true", help="also sessions that started before today")
    ls.add_argument("--service", help="only this service (id or name, e.g. haircut / 理发)")
    ls.add_argument("--community", help="only this community id")
    ls.add_argument("--now", type=_parse_now, help="reference time, ISO 8601 (default: now)")
    _add_db_options(ls)

    p = sub.add_parser("bookings", help="residents' bookings")
    bookings = p.add_subparsers(dest="bookings_command", required=True)
    ex = bookings.add_parser("export", help="every booking (booked, waitlisted, cancelled) as CSV or JSON")
    ex.add_argument("--service", help="only this service (id or name, e.g. haircut / 理发)")
    ex.add_argument("--date", type=_date, help="only sessions on this day, YYYY-MM-DD (community time zone)")
    ex.add_argument("--format", choices=("csv", "json"), default="csv")
    ex.add_argument("--community", help="only this community id")
    _add_db_options(ex)


def run(args: argparse.Namespace) -> int | None:
    if args.command == "sessions":
        return asyncio.run(_with_db(args, _sessions_list))
    if args.command == "bookings":
        return asyncio.run(_with_db(args, _bookings_export))
    return None


async def _with_db(args: argparse.Namespace, command) -> int:  # type: ignore[no-untyped-def]
    from bot.cli import _settings
    from bot.cli_jobs import _ready
    from config.loader import load_directory
    from storage.db import Database

    settings = _settings(args)
    directory = load_directory(settings.config)
    communities = [c for c in directory.communities if args.community in (None, c.id)]
    if not communities:
        print(f"linli: no community {args.community!r} in {settings.config}", file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    try:
        await _ready(db)
        return await command(args, db, communities, sys.stdout)
    finally:
        await db.dispose()


def _service_filter(communities: list[Any], word: str | None) -> str | None:
    if word is None:
        return None
    from handlers.booking_answers import service_from_word

    for community in communities:
        found = service_from_word(community, word)
        if found is not None:
            return found
    raise ValueError(f"unknown service {word!r}")


async def _sessions_list(args: argparse.Namespace, db, communities, out: TextIO) -> int:  # type: ignore[no-untyped-def]
    from storage import sessions_repo

    try:
        service = _service_filter(communities, args.service)
    except ValueError as exc:
        print(f"linli: {exc}", file=sys.stderr)
        return 2
    now = args.now or dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = []
    async with db.transaction() as session:
        for community in communities:
            tz = ZoneInfo(community.timezone)
            # Listing shows what residents can book, so the config rules are materialized first.
            await sessions_repo.materialize_sessions(session, community, now)
            start_of_today = dt.datetime.combine(now.astimezone(tz).date(), dt.time(0), tzinfo=tz)
            views = await sessions_repo.find_sessions(
                session, community.id, service=service, include_closed=True,
                starting_from=None if args.all else start_of_today,
            )
            rows += [{
                "id": v.id, "community": community.id, "service": v.row.service,
                "start": v.row.starts_at.astimezone(tz).isoformat(), "end": v.row.ends_at.astimezone(tz).isoformat(),
                "capacity": v.row.capacity, "booked": v.booked, "waitlisted": v.waitlisted,
                "status": v.row.status, "place": sessions_repo.place_of(community, v.row),
            } for v in views]
    if args.json:
        json.dump(rows, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    out.write(f"{'id':>5}  {'service':<17} {'start':<16}  {'end':<5}  {'cap':>4} {'booked':>6} {'wait':>4}  status\n")
    for r in rows:
        start = dt.datetime.fromisoformat(r["start"])
        end = dt.datetime.fromisoformat(r["end"])
        out.write(f"{r['id']:>5}  {r['service']:<17} {start:%Y-%m-%d %H:%M}  {end:%H:%M}  {r['capacity']:>4} "
                  f"{r['booked']:>6} {r['waitlisted']:>4}  {r['status']}\n")
    return 0


async def _bookings_export(args: argparse.Namespace, db, communities, out: TextIO) -> int:  # type: ignore[no-untyped-def]
    from storage import booking_repo as repo

    try:
        service = _service_filter(communities, args.service)
    except ValueError as exc:
        print(f"linli: {exc}", file=sys.stderr)
        return 2
    records: list[dict[str, Any]] = []
    async with db.transaction() as session:
        for community in communities:
            tz = ZoneInfo(community.timezone)
            start = dt.datetime.combine(args.date, dt.time(0), tzinfo=tz) if args.date else None
            rows = await repo.export_rows(
                session, community_id=community.id, service=service, starting_from=start,
                starting_before=start + dt.timedelta(days=1) if start else None,
            )
            records += [{
                "code": b.code, "service": b.service, "session_id": b.session_id,
                "session_start": s.starts_at.astimezone(tz).isoformat(), "resident_id": b.resident_id,
                "status": b.status, "created_at": b.created_at.astimezone(tz).isoformat(), "item": b.item or "",
            } for b, s in rows]
    if args.format == "json":
        json.dump(records, out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        writer = csv.DictWriter(out, fieldnames=BOOKING_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return 0
