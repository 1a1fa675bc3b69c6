"""Where linli keeps what it derives from the repository at first use: the trained model
(nlp/model.py) and the pinyin index (nlp/pinyin.py). Nothing generated is kept in git; a cache
file is named by a hash of everything it was made from."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger("linli.nlp")

CACHE_ENV = "LINLI_CACHE_DIR"


def cache_dir() -> Path:
    """Where trained models and pinyin indexes are kept."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "linli"


def usable_cache_dir() -> Path:
    """`cache_dir()`, or a folder in the temp directory when that one cannot be written (a read-only
    home in a container): the model is then trained once per machine boot instead of never."""
    preferred = cache_dir()
    try:
        preferred.mkdir(parents=True, exist_ok=True)
        if os.access(preferred, os.W_OK):
            return preferred
    except OSError:
        pass
    fallback = Path(tempfile.gettempdir()) / f"linli-cache-{os.getuid() if hasattr(os, 'getuid') else 0}"
    log.warning("cannot write the cache %s; using %s", preferred, fallback)
    return fallback


def prune(directory: Path, pattern: str, keep: Path, newest: int) -> None:
    """Deletes the files of `directory` matching `pattern` but the `newest` (by modification time) and
    `keep`: several checkouts may share the cache, each with its own model and index."""
    try:
        found = sorted(directory.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in found[newest:]:
            if old != keep:
                old.unlink(missing_ok=True)
    except OSError:
        pass
