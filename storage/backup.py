"""Backups of the database while the bot runs, and restoring them (`linli backup` / `linli restore`).

SQLite: SQLite's online backup API (`sqlite3.Connection.backup`) copies the database as one
consistent snapshot while the bot keeps writing (WAL readers do not block the writer), into a
single self-contained file. PostgreSQL: `pg_dump --format=custom`, one consistent snapshot of
the database, restored by `pg_restore`; both must be the PostgreSQL client of the server's major
version or newer (Debian: the postgresql-client package). The password is handed to them in
PGPASSWORD, never on a command line that `ps` shows.

A restore refuses to replace a database that holds any row unless forced, and runs the
migrations afterwards, so a backup made by an older linli comes back at today's schema.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import MetaData, inspect, select, table, text
from sqlalchemy.engine import URL, Connection, make_url

from storage.db import Database, normalize_url
from storage.migrate import current_revision, script_directory, upgrade

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
PG_CLIENT_HINT = ("install the PostgreSQL client tools of the server's major version "
                  "(Debian: apt-get install postgresql-client)")


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class Done:
    path: Path
    kind: str  # "sqlite" | "postgresql"
    revision: str | None  # the schema revision the database is at afterwards
    bytes: int


def _done(path: Path, kind: str, revision: str | None) -> Done:
    return Done(path, kind, revision, path.stat().st_size)


def _url(database_url: str) -> URL:
    return make_url(normalize_url(database_url))


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def backup_target(path: Path, kind: str, now: dt.datetime) -> Path:
    """`path` itself, or a file named for the time in it when `path` is a directory (for cron)."""
    if path.is_dir():
        suffix = "sqlite3" if kind == "sqlite" else "pgdump"
        return path / f"linli-{now:%Y%m%d-%H%M%S}.{suffix}"
    return path


async def backup(database_url: str, path: Path, *, now: dt.datetime | None = None) -> Done:
    """Writes a consistent copy of the database to `path` (replaced atomically if it exists)."""
    url = _url(database_url)
    kind = url.get_backend_name()
    target = backup_target(path, kind, now or dt.datetime.now(dt.UTC).astimezone())
    if not target.parent.is_dir():
        raise BackupError(f"no directory {target.parent} to write the backup into")
    partial = target.with_name(f".{target.name}.partial")
    try:
        if kind == "sqlite":
            source = _sqlite_file(url)
            if not source.is_file():
                raise BackupError(f"no SQLite database at {source} (is --database-url / LINLI_DATABASE_URL right?)")
            revision = await asyncio.to_thread(_sqlite_backup, source, partial)
        elif kind == "postgresql":
            await _run_pg("pg_dump", url, "--format=custom", f"--file={partial}")
            db = Database(database_url)
            try:
                revision = await current_revision(db)
            finally:
                await db.dispose()
        else:
            raise BackupError(f"backups of {kind} databases are not supported (SQLite and PostgreSQL are)")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return _done(target, kind, revision)


def _sqlite_backup(source: Path, partial: Path) -> str | None:
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            # pages=-1: the whole database in one step, i.e. from one read snapshot.
            src.backup(dst)
            # One file, no -wal beside it: the copy is a plain rollback-journal database.
            dst.execute("PRAGMA journal_mode=DELETE")
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"the copy failed SQLite's check: {check}")
            return _sqlite_revision(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError:
        return None
    return ",".join(sorted(r[0] for r in rows)) or None


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL as libpq takes it (no password) and the environment that carries the password."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    netloc = quote(url.username or "", safe="")
    netloc = f"{netloc}@" if netloc else ""
    netloc += url.host or ""
    if url.port:
        netloc += f":{url.port}"
    query = dict(url.query)
    if "ssl" in query and "sslmode" not in query:  # asyncpg's spelling
        query["sslmode"] = query.pop("ssl")
    params = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in query.items() if isinstance(v, str))
    uri = f"postgresql://{netloc}/{quote(url.database or '', safe='')}" + (f"?{params}" if params else "")
    return uri, env


async def _run_pg(program: str, url: URL, *args: str) -> None:
    exe = shutil.which(program)
    if exe is None:
        raise BackupError(f"{program} was not found on PATH: {PG_CLIENT_HINT}")
    uri, env = _libpq(url)
    proc = await asyncio.create_subprocess_exec(exe, *args, f"--dbname={uri}", env=env,
                                                stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        detail = (err or out).decode(errors="replace").strip()
        hint = f"\n{PG_CLIENT_HINT}" if "version mismatch" in detail else ""
        raise BackupError(f"{program} failed (exit {proc.returncode}): {detail}{hint}")


def backup_kind(path: Path) -> str:
    """"sqlite" or "postgresql", from the file's first bytes."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupError(f"no backup at {path}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is neither a SQLite database nor a pg_dump archive (custom format)")


def _tables_with_rows(conn: Connection) -> list[str]:
    names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
    return [n for n in names if conn.execute(select(text("1")).select_from(table(n)).limit(1)).first()]


async def holds_data(db: Database) -> list[str]:
    """The tables (besides Alembic's) that hold at least one row."""
    async with db.engine.connect() as conn:
        return await conn.run_sync(_tables_with_rows)


async def restore(database_url: str, path: Path, *, force: bool = False) -> Done:
    """Replaces the database with the backup at `path`, then migrates it to this linli's schema."""
    url = _url(database_url)
    kind, wanted = url.get_backend_name(), backup_kind(path)
    if kind != wanted:
        raise BackupError(f"{path} is a {wanted} backup and the database is {kind}: "
                          "restore it into a database of its kind (LINLI_DATABASE_URL / --database-url)")
    if kind == "sqlite":
        _check_known_revision(await asyncio.to_thread(_sqlite_backup_revision, path), path)
    db = Database(database_url)
    try:
        if kind == "sqlite" and not _sqlite_file(url).exists():
            pass  # a new file: nothing to overwrite
        else:
            filled = await holds_data(db)
            if filled and not force:
                shown = ", ".join(filled[:5]) + (" …" if len(filled) > 5 else "")
                raise BackupError(f"the database is not empty ({len(filled)} tables hold rows: {shown}); "
                                  "stop the bot and pass --force to replace it with the backup")
        if kind == "sqlite":
            await db.dispose()  # no pooled connection may hold the file while it is replaced
            await asyncio.to_thread(_sqlite_restore, path, _sqlite_file(url))
        else:
            async with db.engine.begin() as conn:  # what pg_restore --clean would leave: tables not in the backup
                await conn.run_sync(_drop_all_tables)
            await db.dispose()
            await _run_pg("pg_restore", url, "--no-owner", "--no-privileges", "--single-transaction",
                          "--exit-on-error", str(path))
        _check_known_revision(await current_revision(db), path)
        await upgrade(db)
        revision = await current_revision(db)
    finally:
        await db.dispose()
    return _done(path, kind, revision)


def _drop_all_tables(conn: Connection) -> None:
    meta = MetaData()
    meta.reflect(conn)
    meta.drop_all(conn)


def _sqlite_backup_revision(path: Path) -> str | None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _sqlite_revision(conn)
    finally:
        conn.close()


def _check_known_revision(revision: str | None, path: Path) -> None:
    if revision is None:
        return
    known = script_directory()
    for rev in revision.split(","):
        try:
            found = known.get_revision(rev)
        except Exception:  # alembic raises several kinds for an unknown id
            found = None
        if found is None:
            raise BackupError(f"{path} was made by a newer linli (schema revision {rev}, unknown here): "
                              "restore it with that version of linli or a later one")


def _sqlite_restore(backup_file: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            # The backup API in reverse: the target's pages (and its -wal) are replaced under its lock.
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
