"""Fuzzing the simulator API: whatever arrives, the answer is a 200 or a 400, never a 5xx."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import LiveBot

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)
plausible = st.fixed_dictionaries(
    {},
    optional={
        "group": st.sampled_from(["g-res-1", "g-staff", "g-vol", "nope", ""]) | json_values,
        "user": st.sampled_from(["r-zhang", "staff-li", "v-he", "guest-1"]) | st.text(max_size=200) | json_values,
        "text": st.text(max_size=300) | st.sampled_from(["今天有什么活动", "理发", "+1", "#1 已解决"]) | json_values,
        "msg_id": st.text(max_size=140) | st.integers() | json_values,
        "name": st.text(max_size=40) | json_values,
    },
)
valid = st.fixed_dictionaries(
    {
        "group": st.sampled_from(["g-res-1", "g-res-2", "g-staff"]),
        "user": st.sampled_from(["r-zhang", "staff-li", "v-he"]) | st.text(min_size=1, max_size=20).filter(str.strip),
        "text": st.text(min_size=1, max_size=300).filter(str.strip),
    }
).map(lambda d: json.dumps(d).encode())
bodies = st.one_of(
    valid,
    plausible.map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
)


def _post(base: str, body: bytes) -> int:
    req = urllib.request.Request(f"{base}/api/sim/messages", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            json.loads(resp.read())
            return resp.status
    except urllib.error.HTTPError as exc:
        payload = json.loads(exc.read())
        assert "error" in payload
        return exc.code


async def test_no_request_body_makes_the_simulator_fail(live_bot: LiveBot) -> None:
    base = live_bot.client.base_url
    statuses: list[int] = []

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(body=bodies)
    @example(body=json.dumps({"group": "g-res-1", "user": "r-zhang", "text": "今天有什么活动"}).encode())
    @example(body=b"{")
    def fuzz(body: bytes) -> None:
        status = _post(base, body)
        statuses.append(status)
        assert status in (200, 400), (status, body[:200])

    await asyncio.to_thread(fuzz)
    assert 200 in statuses and 400 in statuses  # both kinds of input were really exercised
    # The bot still answers normally afterwards.
    body = await live_bot.client.say("g-res-1", "r-zhang", "今天有什么活动")
    assert body["replies"]
