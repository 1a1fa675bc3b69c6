"""Start-up settings: command-line options, then `LINLI_*` environment variables, then a YAML file."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULT_COMMUNITY_FILE = CONFIG_DIR / "demo_community.yaml"


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """"127.0.0.1/8, ::1, 10.0.0.5" → networks (a bare address is a network of one); "" → none."""
    networks = []
    for item in value.split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ValueError(f"not an IP address or CIDR network: {item.strip()!r}") from None
    return tuple(networks)


# Settings that may only come from the environment (or the command line), never from a file.
ENV_ONLY = frozenset({"wecom_secret", "wecom_token", "wecom_aes_key", "wecom_aibot_token", "wecom_aibot_aes_key",
                      "mp_secret", "mp_token", "mp_aes_key"})


class _YamlSettingsSource(PydanticBaseSettingsSource):
    """Reads the optional settings file named by LINLI_SETTINGS_FILE (lowest precedence)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self._data: dict[str, Any] = {}
        if path is not None:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if not isinstance(loaded, dict):
                raise ValueError(f"{path}: the settings file must be a mapping of setting: value")
            self._data = loaded

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        secrets = sorted(ENV_ONLY & self._data.keys())
        if secrets:  # a settings file ends up in git sooner or later
            raise ValueError(f"secrets belong in LINLI_* environment variables, not the settings file: {secrets}")
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


class Settings(BaseSettings):
    """Everything a process needs to start; community data lives in the community YAML instead."""

    model_config = SettingsConfigDict(env_prefix="LINLI_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    # The address people reach this deployment at (e.g. https://linli.example.org behind nginx):
    # digests and alerts link to its /staff pages. Unset: http://HOST:PORT, right only on one machine.
    public_url: str | None = None
    database_url: str = "sqlite+aiosqlite:///linli.db"
    config: Path = DEFAULT_COMMUNITY_FILE
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    # Production mode is never demo mode (bot/exposure.py): the demo staff passwords are refused.
    production: bool = False
    # Demo mode accepts the demo community's published staff passwords. Unset: on for the bundled
    # demo community on a loopback address (./run.sh as it comes), off otherwise.
    demo: bool | None = None
    # Required to serve the simulator on any address but loopback (it lets anyone speak as anyone).
    sim_token: str | None = None
    # Whether the simulator channel (web page and /api/sim) is mounted at all.
    simulator: bool = True
    # Outbox delivery: how often an idle drainer looks for rows, and how many attempts before failing.
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    outbox_max_attempts: int = Field(default=8, ge=1)
    # A pending question (slot filling) is forgotten after this many seconds.
    conversation_ttl_seconds: int = Field(default=600, ge=1)
    max_text_chars: int = Field(default=2048, ge=1)
    # Timed jobs (bot/scheduler.py): off for processes that must never post on their own; with
    # PostgreSQL a follower retries the leader lock this often (takeover well within a minute).
    scheduler: bool = True
    # false: WeChat callbacks are acknowledged and stored but not handled here (what
    # `bench/bench_e2e.py --ack-only` measures); the rows wait, "new", for the next process
    # started with it on (handled at its start-up), or for another process's sweep.
    handle_messages: bool = True
    scheduler_retry_seconds: float = Field(default=15.0, gt=0)
    # Peers whose X-Forwarded-For the staff login believes (its per-address lockout counts the
    # client the proxy saw): comma-separated addresses or CIDR networks. Loopback by default, where
    # deploy/nginx-linli.conf runs; add the proxy's address when it runs on another machine.
    trusted_proxies: str = "127.0.0.1/8,::1"
    # Slow clients (bot/web_guard.py): a request's line and headers must arrive within
    # header_timeout_seconds of the connection opening (aiohttp's keep-alive timer, also the idle
    # keep-alive limit), a body within body_timeout_seconds (408), and at most max_slow_bodies
    # bodies are waited for at once (429 beyond).
    header_timeout_seconds: float = Field(default=15.0, gt=0)
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    max_slow_bodies: int = Field(default=64, ge=1)
    # The staff login's cookie is Secure when the page came over HTTPS, seen directly or in a trusted
    # proxy's X-Forwarded-Proto (deploy/nginx-linli.conf sends it); true: always (TLS ends before
    # a proxy that does not say so).
    secure_cookies: bool = False
    # WeChat channels (bot/channels/wecom*.py, official_account.py). Each is mounted only when its
    # credentials are set; secrets come from the environment only (ENV_ONLY). Group robot keys are
    # per group: the variable named by the group's `robot_key_env` (default LINLI_WECOM_ROBOT_KEY_<GROUP>).
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: str | None = None
    wecom_token: str | None = None  # callback Token of the self-built app
    wecom_aes_key: str | None = None  # callback EncodingAESKey (43 characters)
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    wecom_aibot_token: str | None = None
    wecom_aibot_aes_key: str | None = None
    mp_app_id: str | None = None
    mp_secret: str | None = None
    mp_token: str | None = None
    mp_aes_key: str | None = None  # set: safe mode (encrypted callbacks required)
    mp_api_base: str = "https://api.weixin.qq.com"
    wechat_http_timeout_seconds: float = Field(default=10.0, gt=0)
    # A WeChat callback whose signed timestamp is further than this from our clock (either way) is
    # refused as a replay (WeChat retries within ~15 s; the rest is room for clocks a little off).
    callback_max_age_seconds: int = Field(default=300, ge=30)
    # Handled inbox rows (and callback events) older than this are deleted by every process's
    # hourly prune: long past the freshness window, so a replay always meets one of the two.
    inbox_retention_days: float = Field(default=30.0, gt=0)
    # WeCom app group chats (appchat/send) together: at most this many person-times a minute per
    # corp, where a post to a chat of N members costs N (protocol notes §4.3: 20,000). Shared by
    # all bot processes; posts over it wait for the next minute.
    wecom_appchat_corp_per_minute: int = Field(default=20_000, ge=1)
    # Photos residents send (bot/media_fetcher.py): the largest image kept (10 MB, WeChat's own
    # limit for an image in its media store); larger ones get "图片太大了" and are not stored. A
    # fetch that fails for a network or platform reason is tried this many times, then given up
    # (the sender is asked to send it again); an idle fetcher looks for work this often.
    media_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    media_max_attempts: int = Field(default=5, ge=1)
    media_poll_seconds: float = Field(default=2.0, gt=0)
    # Staff corrections teach the learned model (bot/relearn.py): a running bot looks for new ones
    # this often (0: never retrains by itself; `linli train` still includes them), and trains a new
    # model at most once per `retrain_min_interval_seconds`, in a child process, in the background.
    retrain_check_seconds: float = Field(default=60.0, ge=0)
    retrain_min_interval_seconds: float = Field(default=3600.0, ge=0)

    @field_validator("config")
    @classmethod
    def _config_exists(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"community config file not found: {value}")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _trusted_proxies_parse(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):  # a YAML list in the settings file
            value = ",".join(str(v) for v in value)
        if isinstance(value, str):
            parse_networks(value)
        return value

    @model_validator(mode="after")
    def _retention_outlasts_the_window(self) -> Settings:
        if self.inbox_retention_days * 86400 <= 2 * self.callback_max_age_seconds:
            raise ValueError("inbox_retention_days must be far longer than callback_max_age_seconds: a replayed "
                             "callback must meet either the timestamp check or its stored inbox row")
        return self

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"public_url must start with http:// or https://: {value!r}")
        return value.rstrip("/") if value else None

    @property
    def public_base_url(self) -> str:
        """`public_url`, else derived from where this process listens (a wildcard host as 127.0.0.1)."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.trusted_proxies)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        import os

        path = os.environ.get("LINLI_SETTINGS_FILE")
        return (init_settings, env_settings, _YamlSettingsSource(settings_cls, Path(path) if path else None))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
