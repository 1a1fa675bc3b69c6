"""The staff web's routes under /staff: which page answers which path, and the template engine they share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.staff_web.auth import StaffAuth
from bot.staff_web.chart_pages import ChartPages
from bot.staff_web.drawing import ChartDrawer
from bot.staff_web.render import PREFIX, setup_templates
from bot.staff_web.request_life import RequestLifeForms
from bot.staff_web.views import RequestPages

if TYPE_CHECKING:
    from bot.linli import Linli


class StaffWeb:
    def __init__(self, linli: Linli) -> None:
        self.auth = StaffAuth(linli.db, linli.directory, linli.clock, linli.settings.trusted_proxy_networks)
        self.requests = RequestPages(linli.db, linli.clock, self.auth, linli.drainer.wake)
        self.life = RequestLifeForms(linli.db, linli.clock, self.auth, linli.drainer.wake, self.requests.detail_page)
        self.drawer = ChartDrawer()
        self.charts = ChartPages(linli.db, linli.clock, self.auth, self.drawer)

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
        r.add_get(f"{PREFIX}/charts", self.charts.charts_page)
        r.add_get(f"{PREFIX}/charts/categories.png", self.charts.categories_png)
        r.add_get(f"{PREFIX}/charts/median.png", self.charts.median_png)
        r.add_get(f"{PREFIX}/charts/rates.png", self.charts.rates_png)
        r.add_get(f"{PREFIX}/charts/weekly.png", self.charts.weekly_png)

        async def stop_drawing(app: web.Application) -> None:
            await self.drawer.stop()

        app.on_cleanup.append(stop_drawing)
