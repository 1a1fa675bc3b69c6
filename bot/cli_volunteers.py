"""`linli volunteers hours --month 2026-12 [--format table|csv|xlsx] [--output FILE]`: volunteers'
service hours of a month, per volunteer and team, as street offices file them (CSV, or an Excel
workbook made by openpyxl)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def _month(value: str) -> str:
    from handlers.service_hours import month_bounds

    try:
        month_bounds(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bot.cli import _add_db_options

    p = sub.add_parser("volunteers", help="volunteers' service hours (志愿时长)")
    volunteers = p.add_subparsers(dest="volunteers_command", required=True)
    h = volunteers.add_parser("hours", help="service hours of a month, per volunteer and team")
    h.add_argument("--month", type=_month, required=True, help="YYYY-MM, e.g. 2026-12")
    h.add_argument("--format", choices=("table", "csv", "xlsx"), default="table")
    h.add_argument("--output", type=Path, help="write to this file (needed for xlsx)")
    h.add_argument("--community", help="only this community id")
    _add_db_options(h)


def run(args: argparse.Namespace) -> int | None:
    if args.command != "volunteers":
        return None
    if args.format == "xlsx" and args.output is None:
        print("linli: --format xlsx writes a workbook: give --output FILE.xlsx", file=sys.stderr)
        return 2
    from bot.cli_bookings import _with_db

    return asyncio.run(_with_db(args, _hours))


async def _hours(args: argparse.Namespace, db, communities, out) -> int:  # type: ignore[no-untyped-def]
    from handlers import texts_volunteers as texts
    from handlers.service_hours import hours_csv, hours_report, hours_table, hours_xlsx, month_bounds

    first, last = month_bounds(args.month)
    async with db.transaction() as session:
        reports = [await hours_report(session, c, first, last) for c in communities]
    if args.format == "xlsx":
        if len(reports) > 1:
            print("linli: one workbook per community: add --community ID", file=sys.stderr)
            return 2
        args.output.write_bytes(hours_xlsx(reports[0]))
        print(f"wrote {args.output}")
        return 0
    if args.format == "csv":
        text = "".join(hours_csv(r) for r in reports)
    else:
        blocks = []
        for report in reports:
            rows = [list(texts.HOURS_HEADER), *hours_table(report)]
            widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
            lines = [texts.hours_title(report.community, report.first, report.last)]
            lines += ["  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths, strict=True)).rstrip()
                      for r in rows]
            lines += [f"{t.team}: {t.people} 人, {t.sessions} 人次, {texts.hours(t.minutes)} 小时"
                      for t in report.teams]
            blocks.append("\n".join(lines))
        text = "\n\n".join(blocks) + "\n"
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        out.write(text)
    return 0


def _width(text: str) -> int:
    """Columns a terminal gives the text: two for each CJK character."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
