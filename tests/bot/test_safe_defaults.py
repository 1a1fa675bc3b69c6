"""Safe defaults (issue 17 item 4): a reachable address never exposes the simulator without a token,
whatever the mode; the demo staff passwords (published in the README) stop start-up outside demo
mode, saying how to set passwords; `linli serve` says what it exposes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.exposure import DEMO_PASSWORD, check_demo_passwords, check_exposure, demo_hashes, is_demo
from bot.staff_web.passwords import hash_password, verify_password
from config.community import ConfigError
from config.loader import load_directory
from config.settings import DEFAULT_COMMUNITY_FILE, Settings
from tests.bot.test_serve_cli import _free_port, _serve, _wait_up


@pytest.mark.parametrize(("host", "production", "token", "simulator", "refused"), [
    ("0.0.0.0", False, None, True, True),  # was allowed unless LINLI_PRODUCTION was set
    ("0.0.0.0", True, None, True, True),
    ("192.168.1.20", False, None, True, True),
    ("::", False, None, True, True),
    ("0.0.0.0", False, "a-token", True, False),
    ("0.0.0.0", False, None, False, False),
    ("127.0.0.1", False, None, True, False),
    ("::1", True, None, True, False),
    ("localhost", False, None, True, False),
])
def test_a_reachable_simulator_needs_a_token_in_every_mode(host: str, production: bool, token: str | None,
                                                            simulator: bool, refused: bool) -> None:
    settings = Settings(host=host, production=production, sim_token=token, simulator=simulator)
    if refused:
        with pytest.raises(ConfigError, match="LINLI_SIM_TOKEN"):
            check_exposure(settings)
    else:
        check_exposure(settings)


def test_the_demo_hashes_are_those_of_the_published_password() -> None:
    hashes = demo_hashes()
    assert len(hashes) == 3 and all(verify_password(DEMO_PASSWORD, h) for h in hashes)


def _copy_of_the_demo(tmp_path: Path, *, new_passwords: bool = False) -> Path:
    data = yaml.safe_load(DEFAULT_COMMUNITY_FILE.read_text(encoding="utf-8"))
    if new_passwords:
        for community in data["communities"]:
            for person in community["people"]:
                if "password_hash" in person:
                    person["password_hash"] = hash_password(f"own password of {person['id']}")
        path = tmp_path / "my-community.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return path
    path = tmp_path / "my-community.yaml"
    shutil.copy(DEFAULT_COMMUNITY_FILE, path)
    return path


def test_demo_passwords_are_refused_outside_demo_mode(tmp_path: Path) -> None:
    copy = _copy_of_the_demo(tmp_path)
    cases = [
        (Settings(), True),  # ./run.sh as it comes: the bundled demo on 127.0.0.1
        (Settings(config=copy), False),  # the demo file copied to start a real community
        (Settings(production=True), False),
        (Settings(host="0.0.0.0", sim_token="t"), False),  # reachable from elsewhere
        (Settings(config=copy, demo=True), True),  # asked for
        (Settings(production=True, demo=True), False),  # production is never a demo
    ]
    for settings, demo in cases:
        assert is_demo(settings) is demo, settings
        directory = load_directory(settings.config)
        if demo:
            check_demo_passwords(settings, directory)
            continue
        with pytest.raises(ConfigError) as refused:
            check_demo_passwords(settings, directory)
        message = str(refused.value)
        assert "linli staff-password" in message and "staff-li" in message and DEMO_PASSWORD in message
    own = _copy_of_the_demo(tmp_path, new_passwords=True)
    check_demo_passwords(Settings(config=own), load_directory(own))


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env.update(extra)
    return env


def test_serve_refuses_unsafe_starts_with_a_message(tmp_path: Path) -> None:
    copy = _copy_of_the_demo(tmp_path)
    for env, expected in [
        ({"LINLI_HOST": "0.0.0.0"}, "LINLI_SIM_TOKEN"),
        ({"LINLI_CONFIG": str(copy)}, "linli staff-password"),
    ]:
        result = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--port", str(_free_port()),
                                 "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
                                capture_output=True, text=True, timeout=120, env=_env(**env), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr and "Traceback" not in result.stderr


def test_serve_says_what_it_exposes(tmp_path: Path) -> None:
    port = _free_port()
    proc = _serve(tmp_path, port, LINLI_SIM_TOKEN="tok", LINLI_MP_TOKEN="mp-token", LINLI_MP_APP_ID="wx1")
    try:
        _wait_up(port, proc)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    lines = out.splitlines()
    assert f"linli on http://127.0.0.1:{port}/ exposes:" in lines
    said = "\n".join(lines)
    assert "simulator:  yes" in said and "token required" in said and "tok\n" not in said  # never the token
    staff = sum(p.role == "staff" for c in load_directory(DEFAULT_COMMUNITY_FILE).communities for p in c.people)
    assert staff >= 3 and f"staff web:  http://127.0.0.1:{port}/staff ({staff} staff member(s); demo mode" in said
    assert "callbacks:  /mp/callback (Official Account, plain mode)" in said
    assert f"http://127.0.0.1:{port}/healthz, metrics http://127.0.0.1:{port}/metrics" in said
