"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import Database
from storage.migrate import current_revision, head_revision, script_directory, upgrade
from storage.models import Base


def test_the_migrations_have_exactly_one_head() -> None:
    heads = script_directory().get_heads()
    assert len(heads) == 1, f"several Alembic heads {heads}: add a merge revision"
    assert head_revision() == heads[0]


async def test_a_database_on_the_old_branch_heads_upgrades_to_the_merge(db_url: str) -> None:
    db = Database(db_url)
    try:
        for branch_head in ("0002", "0003", "0004", "0006"):
            await upgrade(db, branch_head)
        assert await current_revision(db) == "0002,0003,0004,0006"
        await upgrade(db)
        assert await current_revision(db) == head_revision()
    finally:
        await db.dispose()


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
