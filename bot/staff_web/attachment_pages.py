"""Photos and locations on a request's page (/staff/requests/N), and the photos themselves.

/staff/attachments/N and /staff/attachments/N/thumb serve a stored photo and its thumbnail to a
logged-in staff member of the photo's community only: anyone else is sent to the login form, and
staff of another community get 404 (the same as a photo that does not exist). The bytes were
checked to be an image before they were stored (handlers/image_check.py) and go out with their
checked content type, never sniffed, never framed, never cached by a shared proxy.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from aiohttp import web

from bot.staff_web.auth import StaffAuth
from bot.staff_web.render import PREFIX
from bot.web_input import path_number
from handlers import texts_attachments as texts
from storage import attachments_repo as repo
from storage.db import Database
from storage.models_attachments import RequestAttachment

MEDIA_HEADERS = {
    "Cache-Control": "private, max-age=600",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Content-Disposition": "inline",
    "Referrer-Policy": "same-origin",
}


def map_url(latitude: float, longitude: float, label: str | None) -> str:
    """Amap's marker page (WeChat's coordinates are GCJ-02, as Amap's)."""
    query = {"position": f"{longitude:.6f},{latitude:.6f}", "name": label or "位置", "src": "linli"}
    return "https://uri.amap.com/marker?" + urllib.parse.urlencode(query)


def attachment_items(rows: list[RequestAttachment]) -> list[dict[str, Any]]:
    """What the request page shows of each attachment (templates/attachments.html)."""
    items = []
    for row in rows:
        item: dict[str, Any] = {"id": row.id, "kind": row.kind, "status": row.status, "sender": row.sender_name,
                                "at": row.created_at}
        if row.kind == "image":
            item.update(href=f"{PREFIX}/attachments/{row.id}", thumb=f"{PREFIX}/attachments/{row.id}/thumb",
                        size=f"{(row.size or 0) / 1024:.0f} KB", dims=f"{row.width}×{row.height}")
        elif row.latitude is not None and row.longitude is not None:
            item.update(label=row.label or "位置", coords=f"{row.latitude:.5f}, {row.longitude:.5f}",
                        map=map_url(row.latitude, row.longitude, row.label))
        items.append(item)
    return items


async def request_attachments(session: Any, request_id: int) -> dict[str, Any]:
    """The request page's context for its photos and locations."""
    return {"attachments": attachment_items(await repo.of_request(session, request_id)),
            "attachments_title": texts.WEB_PHOTOS_TITLE, "attachment_pending": texts.WEB_PENDING,
            "map_link": texts.WEB_MAP_LINK}


class AttachmentFiles:
    def __init__(self, db: Database, auth: StaffAuth) -> None:
        self.db = db
        self.auth = auth

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(f"{PREFIX}/attachments/{{id:\\d+}}", self.image)
        app.router.add_get(f"{PREFIX}/attachments/{{id:\\d+}}/thumb", self.thumbnail)

    async def image(self, request: web.Request) -> web.Response:
        return await self._serve(request, thumbnail=False)

    async def thumbnail(self, request: web.Request) -> web.Response:
        return await self._serve(request, thumbnail=True)

    async def _serve(self, request: web.Request, *, thumbnail: bool) -> web.Response:
        staff = await self.auth.require(request)
        number = path_number(request)
        async with self.db.transaction() as session:
            row = await repo.get_in_community(session, staff.community.id, number)
            stored = await repo.file_of(session, number) if row is not None and row.status == "ready" else None
            if row is None or stored is None:
                raise web.HTTPNotFound(text="no such photo")
            body, content_type = (stored.thumbnail, "image/jpeg") if thumbnail else (stored.data, row.content_type)
        return web.Response(body=body, content_type=content_type or "application/octet-stream",
                            headers=MEDIA_HEADERS)
