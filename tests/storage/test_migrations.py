"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import Database
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import Base


async def test_migrations_match_the_models(db_url: str) -> None:
    db = Database(db_url)
    try:
        await upgrade(db)
        assert await current_revision(db) == head_revision()

        def diff(sync_conn):  # type: ignore[no-untyped-def]
            ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
            return compare_metadata(ctx, Base.metadata)

        async with db.engine.connect() as conn:
            differences = await conn.run_sync(diff)
        assert differences == [], f"models and migrations disagree: {differences}"
    finally:
        await db.dispose()


async def test_upgrade_twice_is_harmless(db_url: str) -> None:
    db = Database(db_url)
    try:
        await upgrade(db)
        await upgrade(db)
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"inbox", "outbox", "sim_timeline", "conversation_state", "members"} <= tables
    finally:
        await db.dispose()
