"""LINLI_PUBLIC_URL: where digests and alerts link to; derived from the listening address only when unset."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config.community import Directory
from config.settings import DEFAULT_COMMUNITY_FILE, Settings


@pytest.mark.parametrize(
    ("values", "base"),
    [
        ({}, "http://127.0.0.1:8080"),
        ({"port": 9000}, "http://127.0.0.1:9000"),
        ({"host": "192.168.1.20", "port": 8081}, "http://192.168.1.20:8081"),
        ({"host": "0.0.0.0"}, "http://127.0.0.1:8080"),
        ({"host": "::1"}, "http://[::1]:8080"),
        ({"public_url": "https://linli.example.org/", "port": 9000}, "https://linli.example.org"),
    ],
)
def test_the_public_base_url(values: dict, base: str) -> None:
    assert Settings(config=DEFAULT_COMMUNITY_FILE, **values).public_base_url == base


def test_the_environment_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_PUBLIC_URL", "https://jd.example.org/linli")
    assert Settings(config=DEFAULT_COMMUNITY_FILE).public_base_url == "https://jd.example.org/linli"
    with pytest.raises(ValidationError, match="http"):
        Settings(config=DEFAULT_COMMUNITY_FILE, public_url="linli.example.org")


def test_a_community_file_that_sets_its_link_keeps_it(demo_directory: Directory) -> None:
    c = demo_directory.communities[0]
    own = c.model_copy(update={"requests": c.requests.model_copy(update={"staff_web_url": "https://a.example/staff"})})
    linked = Directory([own, c.model_copy(update={"id": "other"})]).with_public_url("https://b.example")
    assert [x.requests.web_url for x in linked.communities] == ["https://a.example/staff", "https://b.example/staff"]
