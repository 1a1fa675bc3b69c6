"""WeChat secrets come from the environment only, never from a settings file that may land in git."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings


def test_secrets_in_the_settings_file_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("port: 9000\nwecom_corp_id: ww123\nwecom_secret: do-not-commit\n", encoding="utf-8")
    monkeypatch.setenv("LINLI_SETTINGS_FILE", str(path))
    with pytest.raises(ValueError, match="wecom_secret"):
        Settings()


def test_secrets_and_ids_are_read_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("wecom_corp_id: ww123\nwecom_api_base: http://127.0.0.1:9\n", encoding="utf-8")
    monkeypatch.setenv("LINLI_SETTINGS_FILE", str(path))
    monkeypatch.setenv("LINLI_WECOM_SECRET", "from-env")
    monkeypatch.setenv("LINLI_WECOM_AGENT_ID", "1000002")
    monkeypatch.setenv("LINLI_MP_AES_KEY", "k" * 43)
    settings = Settings()
    assert (settings.wecom_corp_id, settings.wecom_secret, settings.wecom_agent_id) == ("ww123", "from-env", 1000002)
    assert settings.wecom_api_base == "http://127.0.0.1:9" and settings.mp_aes_key == "k" * 43
