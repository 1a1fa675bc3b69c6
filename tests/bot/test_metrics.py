"""GET /metrics over real HTTP: parsed by prometheus-client's parser, one registry per app."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from core.clock import FixedClock
from core.delivery import Delivery, PermanentError, TemporaryError
from core.message import Outgoing
from storage.models import InboxMessage
from storage.outbox_repo import enqueue
from tests.conftest import LiveBot, make_settings, start_live_bot
from tests.handlers import requests_support

req_bot = requests_support.req_bot  # the fixture: a live bot with a keyword classifier


async def scrape(bot: LiveBot) -> dict[str, list[Sample]]:
    async with bot.client.http.get(bot.client.base_url + "/metrics") as resp:
        assert resp.status == 200 and resp.content_type == "text/plain"
        text = await resp.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["linli_outbox_outcomes"].type == "counter"
    assert families["linli_message_handling_seconds"].type == "histogram"
    assert families["linli_inbox_backlog_messages"].type == "gauge"
    return {name: f.samples for name, f in families.items()}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    [found] = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    return found


class FlakyWeCom:
    """The WeCom API as the drainer meets it: busy once for "staff-li", always refusing "gone"."""

    def __init__(self) -> None:
        self.busy_once = True

    async def send(self, delivery: Delivery) -> None:
        if delivery.target == "gone":
            raise PermanentError("errcode 60111 userid not found")
        if self.busy_once:
            self.busy_once = False
            raise TemporaryError("errcode -1 system busy")


async def test_metrics_count_outbox_outcomes_handling_latency_and_backlog(req_bot: LiveBot,
                                                                         clock: FixedClock) -> None:
    metrics = await scrape(req_bot)
    outcomes = metrics["linli_outbox_outcomes"]
    for outcome in ("sent", "retry", "failed"):  # every channel's counters exist from the start
        assert value(outcomes, "linli_outbox_outcomes_total", channel="sim", outcome=outcome) == 0
    assert value(metrics["linli_message_handling_seconds"], "linli_message_handling_seconds_count") == 0

    await req_bot.client.say("g-res-1", "r-zhang", "@社区小助手 今天有什么活动")
    await req_bot.client.say("g-res-1", "r-zhang", "3号楼楼道灯坏了")
    req_bot.linli.drainer.senders["wecom"] = FlakyWeCom()
    async with req_bot.linli.db.transaction() as session:
        await enqueue(session, [Outgoing("wecom", "xingfuli", "user", "staff-li", "#1 已登记"),
                                Outgoing("wecom", "xingfuli", "user", "gone", "您的报事已登记")], now=clock.now())
    for _ in range(50):
        await req_bot.linli.drainer.drain_once()
        clock.advance(minutes=5)  # past the retry's backoff
        metrics = await scrape(req_bot)
        if value(metrics["linli_outbox_outcomes"], "linli_outbox_outcomes_total", channel="wecom",
                 outcome="sent") == 1:
            break
        await asyncio.sleep(0.02)
    outcomes = metrics["linli_outbox_outcomes"]
    assert value(outcomes, "linli_outbox_outcomes_total", channel="wecom", outcome="sent") == 1
    assert value(outcomes, "linli_outbox_outcomes_total", channel="wecom", outcome="retry") == 1
    assert value(outcomes, "linli_outbox_outcomes_total", channel="wecom", outcome="failed") == 1
    assert value(outcomes, "linli_outbox_outcomes_total", channel="sim", outcome="sent") >= 2  # the two answers

    handling = metrics["linli_message_handling_seconds"]
    assert value(handling, "linli_message_handling_seconds_count") == 2
    assert 0 < value(handling, "linli_message_handling_seconds_sum") < 10
    assert value(handling, "linli_message_handling_seconds_bucket", le="+Inf") == 2
    assert value(metrics["linli_inbox_backlog_messages"], "linli_inbox_backlog_messages") == 0
    assert value(metrics["linli_pipeline_queued_messages"], "linli_pipeline_queued_messages") == 0

    # A message stored and not handled yet (another process stored it, or its handling failed).
    async with req_bot.linli.db.transaction() as session:
        session.add(InboxMessage(channel="wecom", msg_id="m-waiting", community="xingfuli", group_id=None,
                                 sender_id="r-zhang", sender_name="张秀兰", text="水管漏了", sent_at=clock.now()))
    metrics = await scrape(req_bot)
    assert value(metrics["linli_inbox_backlog_messages"], "linli_inbox_backlog_messages") == 1


async def test_each_app_has_its_own_registry(req_bot: LiveBot, clock: FixedClock, tmp_path: Path) -> None:
    other, close = await start_live_bot(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"), clock,
                                        understand=requests_support.keyword_understand)
    try:
        await req_bot.client.say("g-res-1", "r-zhang", "@社区小助手 今天有什么活动")
        here, there = await scrape(req_bot), await scrape(other)
    finally:
        await close()
    assert value(here["linli_message_handling_seconds"], "linli_message_handling_seconds_count") == 1
    assert value(there["linli_message_handling_seconds"], "linli_message_handling_seconds_count") == 0
