"""Rows locked until the end of the transaction, on PostgreSQL and SQLite alike: what makes a
booking's count of places, a notice's confirmation or a scheduled notice's sending happen once."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

Row = TypeVar("Row")


async def locked(session: AsyncSession, model: type[Row], *where: Any, order_by: tuple[Any, ...] = (),
                 skip_locked: bool = False) -> list[Row]:
    """The rows of `model` matching `where`, freshly read and locked until the transaction ends.

    PostgreSQL: `SELECT … FOR UPDATE` — another transaction wanting them waits here (or, with
    `skip_locked`, leaves them out), and reads them only after this one committed. SQLite has no row
    locks: a no-op UPDATE of the rows takes the database's write lock *before* anything is read, so
    even several connections (or processes) on one file cannot read the same rows as free.
    """
    query = select(model).where(*where).order_by(*order_by).execution_options(populate_existing=True)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=skip_locked)
    else:
        key = model.__table__.primary_key.columns.values()[0]  # type: ignore[attr-defined]
        await session.execute(update(model).where(*where).values({key.name: key})
                              .execution_options(synchronize_session=False))
    return list((await session.scalars(query)).all())
