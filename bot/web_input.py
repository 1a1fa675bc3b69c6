"""Reading what a client sent, within bounds, before anything is built from it.

Every endpoint answers a 4xx, never a 5xx, whatever the body (issue 17): a body is read up to a
size and answered 413 beyond it; JSON is checked for its nesting depth *before* it is parsed (the
standard parser recurses: a body 30,000 brackets deep raised RecursionError) and parsed with its
integers limited to a few digits (a 5,000-digit number raised ValueError beyond Python's 4,300-digit
limit, and a 20-digit one overflows the database's integers); numbers from query strings and paths
are read within the range the database stores.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from aiohttp import web

MAX_JSON_DEPTH = 32  # the deepest body any endpoint expects is 3
MAX_INT_DIGITS = 32  # WeChat's ids are 64-bit (at most 20 digits)
MAX_DB_INT = 2**31 - 1  # an INTEGER column on PostgreSQL (SQLite's are wider)
# Dates the staff pages draw: far enough either way for any real question, and a week's
# arithmetic on them never leaves what `datetime.date` can hold.
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2100, 12, 31)


class BadInput(ValueError):
    """Input refused before it is used; the message says what is wrong (safe to show the client)."""


# A JSON string literal (escapes included), then everything that is not a bracket.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


def nested_deeper_than(raw: bytes, limit: int) -> bool:
    """Whether the arrays and objects of a JSON text nest deeper than `limit` (brackets inside
    strings do not count). Cheap for the usual body: fewer brackets than the limit need no scan."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for byte in _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw)):
        if byte in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadInput(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _no_constant(name: str) -> Any:
    raise BadInput(f"{name} is not a JSON number")


def parse_json(raw: bytes, what: str = "body") -> Any:
    """The JSON value of `raw`, or BadInput: not UTF-8, not JSON, nested deeper than
    MAX_JSON_DEPTH (checked before parsing), a number longer than MAX_INT_DIGITS, NaN/Infinity."""
    if nested_deeper_than(raw, MAX_JSON_DEPTH):
        raise BadInput(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(raw.decode("utf-8"), parse_int=_bounded_int, parse_constant=_no_constant)
    except BadInput as exc:
        raise BadInput(f"{what}: {exc}") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadInput(f"{what} is not valid JSON") from None


def parse_json_object(raw: bytes, what: str = "body") -> dict[str, Any]:
    value = parse_json(raw, what)
    if not isinstance(value, dict):
        raise BadInput(f"{what} must be a JSON object")
    return value


def bounded_int(text: str | None, *, name: str, low: int = 0, high: int = MAX_DB_INT) -> int:
    """An integer typed by a client (query string, path, form field) within [low, high], or BadInput.
    Only ASCII digits count ("²" and "١" are digits to `str.isdigit`, not to us)."""
    value = (text or "").strip()
    digits = value.removeprefix("-")
    if not digits or len(digits) > len(str(high)) + 1 or not (digits.isascii() and digits.isdigit()):
        raise BadInput(f"{name} must be a whole number")
    number = int(value)
    if not low <= number <= high:
        raise BadInput(f"{name} must be between {low} and {high}")
    return number


def path_number(request: web.Request, key: str = "id") -> int:
    """A record number in the URL path (`{id:\\d+}` admits any digits), or 404: a number no row can
    have (beyond the database's integers) is a page that does not exist, not a 500."""
    try:
        return bounded_int(request.match_info[key], name=key, low=1)
    except BadInput:
        raise web.HTTPNotFound(text="not found") from None


def bounded_day(text: str, *, name: str) -> dt.date:
    """A YYYY-MM-DD date between EARLIEST_DAY and LATEST_DAY, or BadInput."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"{name} must be a date YYYY-MM-DD") from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise BadInput(f"{name} must be between {EARLIEST_DAY} and {LATEST_DAY}")
    return day


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    """The whole body, at most `max_bytes` (413 beyond; `web.HTTPRequestEntityTooLarge`)."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise web.HTTPRequestEntityTooLarge(max_size=max_bytes, actual_size=request.content_length)
    raw = await request.read()  # already read, with a deadline, by bot/web_guard.py's middleware
    if len(raw) > max_bytes:
        raise web.HTTPRequestEntityTooLarge(max_size=max_bytes, actual_size=len(raw))
    return raw
