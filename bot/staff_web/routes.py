"""The staff web's routes under /staff: which page answers which path, and the template engine they share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.staff_web.attachment_pages import AttachmentFiles
from bot.staff_web.auth import StaffAuth
from bot.staff_web.chart_pages import ChartPages
from bot.staff_web.drawing import ChartDrawer
from bot.staff_web.learning_pages import LearningPages
from bot.staff_web.notice_pages import NoticePages
from bot.staff_web.render import PREFIX, setup_templates
from bot.staff_web.request_life import RequestLifeForms
from bot.staff_web.session_pages import SessionPages
from bot.staff_web.views import RequestPages

if TYPE_CHECKING:
    from bot.linli import Linli


class StaffWeb:
    def __init__(self, linli: Linli) -> None:
        self.auth = StaffAuth(linli.db, linli.directory, linli.clock, linli.settings.trusted_proxy_networks,
                              secure_cookies=linli.settings.secure_cookies)
        self.requests = RequestPages(linli.db, linli.clock, self.auth, linli.drainer.wake)
        self.life = RequestLifeForms(linli.db, linli.clock, self.auth, linli.drainer.wake, self.requests.detail_page)
        self.drawer = ChartDrawer()
        self.charts = ChartPages(linli.db, linli.clock, self.auth, self.drawer)
        self.attachments = AttachmentFiles(linli.db, self.auth)  # the photos residents sent
        self.learning = LearningPages(linli.db, linli.clock, self.auth, linli.drainer.wake, self.requests)
        self.requests.extras = self.learning.request_extras
        self.notices = NoticePages(linli.db, linli.clock, self.auth, linli.drainer.wake)
        self.sessions = SessionPages(linli.db, linli.clock, self.auth)

    def add_routes(self, app: web.Application) -> None:
        setup_templates(app)
        r = app.router
        r.add_get(f"{PREFIX}/login", self.auth.login_form)
        r.add_post(f"{PREFIX}/login", self.auth.login)
        r.add_post(f"{PREFIX}/logout", self.auth.logout)
        r.add_get(PREFIX, self.requests.list_page)
        r.add_get(f"{PREFIX}/requests/{{id:\\d+}}", self.requests.detail_page)
        r.add_post(f"{PREFIX}/requests/{{id:\\d+}}", self.requests.change)
        self.life.add_routes(app)
        r.add_get(f"{PREFIX}/deliveries", self.requests.deliveries_page)
        r.add_get(f"{PREFIX}/unsure", self.learning.unsure_page)
        r.add_post(f"{PREFIX}/unsure/{{id:\\d+}}", self.learning.unsure_action)
        r.add_get(f"{PREFIX}/charts", self.charts.charts_page)
        r.add_get(f"{PREFIX}/charts/categories.png", self.charts.categories_png)
        r.add_get(f"{PREFIX}/charts/median.png", self.charts.median_png)
        r.add_get(f"{PREFIX}/charts/rates.png", self.charts.rates_png)
        r.add_get(f"{PREFIX}/charts/weekly.png", self.charts.weekly_png)
        self.attachments.add_routes(app)
        r.add_get(f"{PREFIX}/notices", self.notices.list_page)
        r.add_post(f"{PREFIX}/notices", self.notices.create)
        r.add_get(f"{PREFIX}/notices/{{id:\\d+}}", self.notices.detail_page)
        r.add_post(f"{PREFIX}/notices/{{id:\\d+}}/{{action:send|schedule|cancel}}", self.notices.act)
        r.add_get(f"{PREFIX}/sessions", self.sessions.list_page)
        r.add_get(f"{PREFIX}/sessions/{{id:\\d+}}", self.sessions.detail_page)
        r.add_post(f"{PREFIX}/sessions/{{id:\\d+}}/checkin", self.sessions.check_in)
        r.add_get(f"{PREFIX}/hours", self.sessions.hours_page)
        r.add_get(f"{PREFIX}/hours.{{ext:csv|xlsx}}", self.sessions.hours_file)

        async def stop_drawing(app: web.Application) -> None:
            await self.drawer.stop()

        app.on_cleanup.append(stop_drawing)
