"""Staff pages from Jinja2 templates (aiohttp-jinja2, autoescaped), with the headers every page carries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from handlers import texts as common_texts

PREFIX = "/staff"
HERE = Path(__file__).resolve().parent
TEMPLATES_KEY = web.AppKey("linli_staff_templates", jinja2.Environment)

# Never cached, never framed, and nothing loaded but this site's stylesheet, icon and charts: no
# inline script or style at all, so an injected tag would not run even if escaping ever failed.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}


def local_time(when: dt.datetime | None, timezone: str) -> str:
    """"2026-11-25 10:00" in the community's time zone ("" for no time)."""
    if when is None:
        return ""
    return when.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def setup_templates(app: web.Application) -> None:
    """The template engine and the stylesheet's route, for the pages under PREFIX."""
    env = aiohttp_jinja2.setup(
        app, app_key=TEMPLATES_KEY, loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every {{ value }} is HTML-escaped; nothing is marked safe
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, default_helpers=False)
    env.filters["local_time"] = local_time
    env.globals.update(prefix=PREFIX, deliveries_title=common_texts.WEB_DELIVERIES_TITLE)
    app.router.add_static(f"{PREFIX}/static", HERE / "static", name="staff-static")


def render(request: web.Request, template: str, context: Mapping[str, Any], *, status: int = 200) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status, app_key=TEMPLATES_KEY)
    response.headers.update(PAGE_HEADERS)
    return response


def not_found(request: web.Request, staff: Any, text: str) -> web.Response:
    """The 404 page of something a staff page asked for that the community does not have."""
    return render(request, "message.html", {"title": "未找到", "staff": staff, "kind": "err", "text": text},
                  status=404)


def safe_next(value: str | None) -> str:
    """Where to go after logging in: only paths of these pages, never an open redirect elsewhere."""
    if value and value.startswith(PREFIX) and not value.startswith("//"):
        return value
    return PREFIX
