"""GET /metrics: what this process has done, for Prometheus (prometheus-client, one registry per app).

- `linli_outbox_outcomes_total{channel, outcome}`: deliveries by outcome since the process
  started (sent, retry, failed, released), read from the outbox drainer's counts when scraped;
  sent, retry and failed are listed at 0 for every channel from the start.
- `linli_message_handling_seconds`: from a stored message being queued for handling to its
  answers committed to the outbox (observed by the pipeline after each batch).
- `linli_inbox_backlog_messages`: stored messages not handled yet, by any process (counted in the
  database when scraped); `linli_pipeline_queued_messages`: those queued in this process.

A registry of its own per app, never the library's global one: tests build several apps in one
process, and every series here belongs to one bot.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from storage.models import InboxMessage

if TYPE_CHECKING:
    from bot.linli import Linli
    from bot.outbox import OutboxDrainer

log = logging.getLogger("linli.metrics")

# A message is usually answered within tens of milliseconds; seconds mean a backlog or a slow database.
HANDLING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ALWAYS_LISTED_OUTCOMES = ("sent", "retry", "failed")


class OutboxOutcomes(Collector):
    """The drainer's running counts, as one counter family (read when scraped, kept by the drainer)."""

    def __init__(self, drainer: OutboxDrainer) -> None:
        self.drainer = drainer

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily("linli_outbox_outcomes", "Outbox deliveries by channel and outcome since "
                                     "this process started", labels=["channel", "outcome"])
        counts = dict.fromkeys(((c, o) for c in self.drainer.senders for o in ALWAYS_LISTED_OUTCOMES), 0)
        counts.update(self.drainer.counts)
        for (channel, outcome), n in sorted(counts.items()):
            family.add_metric([channel, outcome], n)
        yield family


class Metrics:
    """The series of one app and the /metrics route that exposes them."""

    def __init__(self, linli: Linli) -> None:
        self.db = linli.db
        self.registry = CollectorRegistry()
        self.registry.register(OutboxOutcomes(linli.drainer))
        self.handling = Histogram(
            "linli_message_handling_seconds", "Seconds from a stored message queued for handling to its answers "
            "committed", buckets=HANDLING_BUCKETS, registry=self.registry)
        self.backlog = Gauge("linli_inbox_backlog_messages", "Stored messages not handled yet, by any process",
                             registry=self.registry)
        queued = Gauge("linli_pipeline_queued_messages", "Messages queued for handling in this process",
                       registry=self.registry)
        queued.set_function(lambda: linli.pipeline.queued)
        linli.pipeline.on_handled = self.handling.observe

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/metrics", self.scrape)

    async def scrape(self, request: web.Request) -> web.Response:
        try:
            async with self.db.transaction() as session:
                waiting = await session.scalar(
                    select(func.count()).select_from(InboxMessage).where(InboxMessage.status == "new"))
            self.backlog.set(waiting or 0)
        except Exception as exc:  # the database is down: the other series still tell something
            log.warning("/metrics: could not count the inbox backlog: %s", exc)
            self.backlog.set(math.nan)
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        response = web.Response(body=encode(self.registry))
        response.headers["Content-Type"] = content_type
        return response
