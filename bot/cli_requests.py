"""`linli digest [--community ID] [--date YYYY-MM-DD]` and `linli staff-password` for operators."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from config.community import ConfigError


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bot.cli import _add_db_options

    p = sub.add_parser("digest", help="print the staff digest of residents' requests for a day")
    p.add_argument("--community", help="community id (default: every community in the config)")
    p.add_argument("--date", type=_date, help="YYYY-MM-DD (default: today in the community's time zone)")
    _add_db_options(p)
    p = sub.add_parser("staff-password", help="hash a staff web password for the community YAML (password_hash)")
    p.add_argument("--stdin", action="store_true", help="read the password from stdin instead of prompting")


def run(args: argparse.Namespace) -> int | None:
    if args.command == "staff-password":
        return _staff_password(args.stdin)
    if args.command != "digest":
        return None
    from sqlalchemy.engine import make_url

    from bot.cli import _settings

    settings = _settings(args)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        print(f"linli: no database at {url.database} (is --database-url / LINLI_DATABASE_URL right?)",
              file=sys.stderr)
        return 1
    return asyncio.run(_digest(settings, args.community, args.date))


def _staff_password(from_stdin: bool) -> int:
    from bot.staff_web.passwords import hash_password

    password = sys.stdin.readline().rstrip("\n") if from_stdin else getpass.getpass("password: ")
    if len(password) < 8:
        print("linli: a staff password needs at least 8 characters", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


async def _digest(settings, community_id: str | None, day: dt.date | None) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import SQLAlchemyError

    from config.loader import load_directory
    from handlers.digest import compute_digest, render_digest
    from storage.db import Database
    from storage.migrate import current_revision, head_revision, upgrade

    directory = load_directory(settings.config).with_public_url(settings.public_base_url)
    communities = directory.communities
    if community_id is not None:
        found = directory.community(community_id)
        if found is None:
            known = ", ".join(c.id for c in communities)
            print(f"linli: no community {community_id!r} in {settings.config} (known: {known})", file=sys.stderr)
            return 2
        communities = [found]
    db = Database(settings.database_url)
    try:
        if db.dialect == "sqlite":
            await upgrade(db)
        else:
            current, head = await current_revision(db), head_revision()
            if current != head:
                raise ConfigError(f"the database is at revision {current or 'none'}, this linli needs {head}: "
                                  "run `linli db upgrade` first")
        posts = []
        async with db.transaction() as session:
            for community in communities:
                now = dt.datetime.now(ZoneInfo(community.timezone))
                when = day or now.date()
                posts.append(render_digest(await compute_digest(session, community, when, now=now)))
        print("\n\n".join(posts))
        return 0
    except SQLAlchemyError as exc:
        print(f"linli: cannot read the requests: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
