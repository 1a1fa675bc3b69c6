"""Safe defaults at start-up: what a process refuses to expose, and what it tells the operator it exposes.

- The simulator lets anyone speak as anyone and read private timelines: on an address other than
  loopback it needs LINLI_SIM_TOKEN, in every mode (or LINLI_SIMULATOR=false).
- The demo community's staff hashes are for the password printed in the README (`linli-demo`):
  outside demo mode a staff member with one of them stops start-up, with how to set a password.
  Demo mode is LINLI_DEMO=true, or, when LINLI_DEMO is not set, the bundled demo community served on
  a loopback address without LINLI_PRODUCTION; LINLI_PRODUCTION=true is never demo mode.
- `linli serve` prints what it exposes (`exposure_lines`).
"""

from __future__ import annotations

import functools
import ipaddress
from pathlib import Path

import yaml

from config.community import ConfigError, Directory
from config.settings import DEFAULT_COMMUNITY_FILE, Settings

DEMO_PASSWORD = "linli-demo"  # as the README says; only its hashes are in the demo file


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings) -> None:
    """The simulator lets anyone speak as anyone: never on a reachable address without a token."""
    if settings.simulator and not is_loopback(settings.host) and not settings.sim_token:
        raise ConfigError(
            f"refusing to serve the simulator on {settings.host} without a token: anyone who reaches "
            "it could speak as any resident or staff member. Set LINLI_SIM_TOKEN (the page then asks "
            "for it), or LINLI_SIMULATOR=false, or listen on 127.0.0.1 (LINLI_HOST)"
        )


def is_demo(settings: Settings) -> bool:
    if settings.production:
        return False
    if settings.demo is not None:
        return settings.demo
    return settings.config.resolve() == DEFAULT_COMMUNITY_FILE.resolve() and is_loopback(settings.host)


@functools.cache
def demo_hashes(path: Path = DEFAULT_COMMUNITY_FILE) -> frozenset[str]:
    """The password hashes in the bundled demo community (all of them for DEMO_PASSWORD)."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "password_hash" and isinstance(value, str):
                    found.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return frozenset(found)


def check_demo_passwords(settings: Settings, directory: Directory) -> None:
    """Outside demo mode, no staff member may keep a demo hash (its password is public)."""
    if is_demo(settings):
        return
    published = demo_hashes()
    found = [f"{c.id}/{p.id}" for c in directory.communities for p in c.people
             if p.password_hash is not None and p.password_hash in published]
    if found:
        raise ConfigError(
            f"staff with the demo password ({DEMO_PASSWORD!r}, published in the README): {', '.join(found)}. "
            "Give each of them a password of their own: run `linli staff-password`, type the password, and "
            "put the line it prints as that person's password_hash in the community file "
            f"({settings.config}). To try the demo on this machine, set LINLI_DEMO=true."
        )


def exposure_lines(settings: Settings, directory: Directory, callbacks: list[tuple[str, str]]) -> list[str]:
    """What `linli serve` tells the operator at start: the address and everything reachable there."""
    base = f"http://{settings.host}:{settings.port}"
    if not settings.simulator:
        simulator = "no (LINLI_SIMULATOR=false)"
    elif settings.sim_token:
        simulator = f"yes, {base}/ — token required (X-Linli-Token; open {base}/#token=…)"
    else:  # check_exposure allows this on loopback only
        simulator = f"yes, {base}/ — no token: anyone on this machine may speak as anyone"
    staff = sum(1 for c in directory.communities for p in c.people if p.role == "staff")
    demo = is_demo(settings)
    staff_web = f"{base}/staff ({staff} staff member(s); " + (
        f"demo mode: the demo staff log in with {DEMO_PASSWORD!r})" if demo else "their own passwords)")
    hooks = ", ".join(f"{path} ({name})" for path, name in callbacks) or "none (no WeChat credentials set)"
    return [
        f"linli on {base}/ exposes:",
        f"  simulator:  {simulator}",
        f"  staff web:  {staff_web}",
        f"  callbacks:  {hooks}",
        f"  health:     {base}/healthz, metrics {base}/metrics",
    ]
