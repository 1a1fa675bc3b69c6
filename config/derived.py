"""Values a configuration model derives from its own lists (an index by id, a compiled matcher),
built once per model: the community file is read once, the lookups run for every message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel


def cached_on(model: BaseModel, name: str, sources: tuple[object, ...], build: Callable[[], Any]) -> Any:
    """What `build` derives from `sources` (lists or dicts the model holds), kept in the model's __dict__.

    Not a pydantic field or private attribute: it takes no part in validation, dumps or equality.
    A copy (`model_copy(update=...)`) inherits the entry but not the lists, so the entry is used
    only while it was built from the very lists the model holds now.
    """
    key = f"_linli_{name}"
    cached = model.__dict__.get(key)
    if cached is None or any(old is not new for old, new in zip(cached[0], sources, strict=True)):
        cached = model.__dict__[key] = (sources, build())
    return cached[1]
