"""Staff passwords: scrypt hashes as the community file stores them (`password_hash`), and their check.

Written with `hashlib.scrypt` rather than a password library: the standard library's scrypt is the
whole algorithm, and the stored form ("scrypt$n$r$p$salt$hash") is ours to keep readable by
`linli staff-password` and by every older hash in a community file.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import logging
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("linli.staff_web")

# scrypt at n=2**14, r=8: ~50 ms and 16 MB per check, so guessing is slow and memory-hard.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _DKLEN = 2**14, 8, 1, 32


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """"scrypt$n$r$p$salt$hash" (base64), the form `password_hash` takes in the community file."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=_DKLEN)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(expected)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want), maxmem=64 * 1024 * 1024)
    except (ValueError, TypeError):
        log.error("a staff password_hash in the community file is malformed")
        return False
    return hmac.compare_digest(got, want)


def _lower_priority() -> None:
    """Password checks yield the CPU to the event loop: on Linux a thread has a nice value of its
    own, and this one's is raised (best effort)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


# Checks run on this thread, never on the event loop: one costs ~50 ms of CPU, and 60 parallel
# logins on the loop stalled every callback (p50 3 → 21 ms). hashlib.scrypt releases the GIL while
# it works; one thread at a lower priority leaves the loop a core and the CPU first (up to ~20
# checks a second, 16 MB at a time: far more than staff log in; a guesser waits in the queue).
_CHECKS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="linli-scrypt", initializer=_lower_priority)


async def check_password(password: str, stored: str | None) -> bool:
    """`verify_password` on the password threads: the event loop goes on serving while it runs."""
    return await asyncio.get_running_loop().run_in_executor(_CHECKS, verify_password, password, stored)


@functools.cache
def dummy_hash() -> str:
    """A hash to check unknown login names against, so timing does not tell which names exist."""
    return hash_password(secrets.token_urlsafe(16))
