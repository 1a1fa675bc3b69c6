"""A broken community file is rejected with the file, the line and what is wrong."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.community import ConfigError
from config.loader import load_directory
from config.settings import DEFAULT_COMMUNITY_FILE, Settings

DEMO = DEFAULT_COMMUNITY_FILE.read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _broken(tmp_path: Path, old: str, new: str) -> tuple[Path, str]:
    assert old in DEMO, old
    text = DEMO.replace(old, new, 1)
    path = tmp_path / "community.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def test_the_demo_community_loads() -> None:
    directory = load_directory(DEFAULT_COMMUNITY_FILE)
    community = directory.communities[0]
    assert community.staff_group() is not None
    assert {s.id for s in community.services} == {
        "haircut", "appliance_repair", "free_clinic", "knife_sharpening", "legal_aid"}
    assert [community.themes.theme_for_weekday(i).title for i in range(5)] == [  # type: ignore[union-attr]
        "学习日", "网格走亲日", "政策宣讲日", "安全检查日", "清洁家园日"]


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("        team: renxin\n", "        teem: renxin\n", "teem: renxin", "Extra inputs are not permitted"),
        ("        team: fazhi\n", "        team: lawyers\n", "team: lawyers", "unknown team 'lawyers'"),
        ('{weekday: sunday, start: "09:00", end: "11:00", capacity: 15}',
         '{weekday: sunday, start: "09:00", end: "11:00", capacity: lots}', "capacity: lots", "capacity"),
        ("kind: volunteers", "kind: helpers", "kind: helpers", "'residents', 'staff', 'volunteers' or 'street'"),
        ("groups: [g-res-2], building: 5", "groups: [g-res-9], building: 5", "g-res-9", "unknown group 'g-res-9'"),
        ("timezone: Asia/Shanghai", "timezone: Mars/Olympus", "Mars/Olympus", "unknown time zone"),
        # the request rules of issue 16
        ("numbers: [lift, fire]", "numbers: [lift, firemen]", "numbers: [lift, firemen]",
         "unknown emergency number 'firemen'"),
        ("        group: g-street\n", "        group: g-staff\n", "group: g-staff", "is not of kind 'street'"),
        ("        people: [street-chen]", "        people: [street-nobody]", "street-nobody",
         "unknown person 'street-nobody'"),
        ("repair: {working_days: 3}", "repair: {working_days: 3, hours: 4}", "repair: {working_days: 3, hours: 4}",
         "exactly one of"),
        ("        urgent: {hours: 2}", "        urgnet: {hours: 2}", "urgnet: {hours: 2}", "unknown category 'urgnet'"),
        ("        - id: flood\n          category: repair", "        - id: flood\n          category: plumbing",
         "category: plumbing", "unknown category 'plumbing'"),
        ("          within: 6\n", "          witin: 6\n", "witin: 6", "Extra inputs are not permitted"),
    ],
)
def test_errors_point_at_the_bad_line(tmp_path: Path, old: str, new: str, needle: str, message: str) -> None:
    path, text = _broken(tmp_path, old, new)
    with pytest.raises(ConfigError) as info:
        load_directory(path)
    error = str(info.value)
    assert f"{path}:{_line_of(text, needle)}:" in error, error
    assert message in error


def test_older_files_with_a_flat_list_of_urgent_words_still_load(tmp_path: Path) -> None:
    start = DEMO.index("      urgent_cues:\n")
    end = DEMO.index("      hypothetical_cues:")
    path = tmp_path / "community.yaml"
    path.write_text(DEMO[:start] + "      urgent_cues: [燃气味, 着火]\n" + DEMO[end:], encoding="utf-8")
    [cue] = load_directory(path).communities[0].requests.urgent_cues
    assert cue.words == ["燃气味", "着火"]


def test_invalid_yaml_syntax_names_the_line(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, "    bot_name: 社区小助手\n", "    bot_name: [社区小助手\n")
    with pytest.raises(ConfigError, match=r"community\.yaml:\d+: not valid YAML"):
        load_directory(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_directory(tmp_path / "nope.yaml")


def test_serve_with_a_broken_config_stops_with_the_line_not_a_traceback(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, "        team: fazhi\n", "        team: lawyers\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--config", str(path), "--port", "0",
         "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode == 2
    assert f"{path}:{_line_of(text, 'team: lawyers')}:" in result.stderr
    assert "unknown team 'lawyers'" in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_come_from_linli_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LINLI_PORT", "9123")
    monkeypatch.setenv("LINLI_HOST", "0.0.0.0")
    monkeypatch.setenv("LINLI_DATABASE_URL", "postgresql://u:p@db/linli")
    settings = Settings()
    assert (settings.port, settings.host, settings.database_url) == (9123, "0.0.0.0", "postgresql://u:p@db/linli")
    assert Settings(port=7000).port == 7000  # command-line options win over the environment


def test_settings_file_is_the_lowest_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text("port: 8181\nhost: 127.0.0.2\n", encoding="utf-8")
    monkeypatch.setenv("LINLI_SETTINGS_FILE", str(settings_file))
    monkeypatch.setenv("LINLI_HOST", "127.0.0.3")
    settings = Settings()
    assert (settings.port, settings.host) == (8181, "127.0.0.3")


def test_bad_settings_are_reported_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env["LINLI_PORT"] = "eighty"
    result = subprocess.run([sys.executable, "-m", "bot.cli", "serve"], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 2
    assert "port" in result.stderr and "Traceback" not in result.stderr


def test_a_public_simulator_without_a_token_is_refused(tmp_path: Path) -> None:
    from bot.linli import build_linli

    settings = Settings(host="0.0.0.0", database_url=f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ConfigError, match="LINLI_SIM_TOKEN"):
        build_linli(settings)


def test_group_and_person_lookups_are_indexed_and_follow_copies() -> None:
    community = load_directory(DEFAULT_COMMUNITY_FILE).communities[0]
    first = community.groups[0]
    assert community.group(first.id) is first and community.group("no-such-group") is None
    assert community.person("staff-li") is next(p for p in community.people if p.id == "staff-li")
    # A copy with other groups inherits the cached index, but must not use it.
    renamed = first.model_copy(update={"name": "改名的群"})
    copy = community.model_copy(update={"groups": [renamed]})
    assert copy.group(first.id) is renamed and copy.group(community.groups[1].id) is None
    assert community.group(first.id) is first
    # The index is no field: not dumped, no part of equality.
    assert community == community.model_copy() and "_linli" not in community.model_dump_json()


def test_a_groups_member_count_is_its_members_or_the_people_listing_it(tmp_path: Path) -> None:
    community = load_directory(DEFAULT_COMMUNITY_FILE).communities[0]
    staff, res_1, vol = (community.group(g) for g in ("g-staff", "g-res-1", "g-vol"))
    assert staff is not None and res_1 is not None and vol is not None
    assert staff.members == 3 and community.member_count(staff) == 3  # set in the demo file
    # Unset: the people of the file who list the group (at least 2).
    listed = sum("g-vol" in p.groups for p in community.people)
    assert vol.members is None and community.member_count(vol) == listed == 5
    lonely = res_1.model_copy(update={"id": "g-nobody"})
    assert community.member_count(lonely) == 2
    for bad in ("0", "2001", "many"):
        path, text = _broken(tmp_path, "        members: 3\n", f"        members: {bad}\n")
        with pytest.raises(ConfigError) as info:
            load_directory(path)
        assert f"{path}:{_line_of(text, f'members: {bad}')}:" in str(info.value)
        assert "groups[3].members" in str(info.value)


# --- themes.calendar: the State Council's holidays as data (made-up dates) ---------------------

EMPTY_CALENDAR = "      calendar:\n        holidays: []\n        workdays: []\n"


def _with_calendar(tmp_path: Path, body: str) -> tuple[Path, str]:
    return _broken(tmp_path, EMPTY_CALENDAR, "      calendar:\n" + body)


def test_a_calendar_with_ranges_dates_and_workdays_loads(tmp_path: Path) -> None:
    path, _ = _with_calendar(tmp_path, (
        "        holidays:\n"
        "          - {name: 元旦, date: 2027-01-01}\n"
        "          - name: 春节\n"
        "            from: 2027-02-08\n"
        "            to: 2027-02-12\n"
        "          - {name: 春节, from: 2027-02-12, to: 2027-02-14}\n"  # same name: overlapping is fine
        "        workdays: [2027-02-20, 2027-02-20]\n"))
    calendar = load_directory(path).communities[0].themes.calendar
    assert calendar.day(dt.date(2027, 2, 14)) == (True, "春节")
    assert calendar.day(dt.date(2027, 2, 20)) == (False, None)
    assert calendar.day(dt.date(2027, 2, 15)) is None and calendar.years() == {2027}


@pytest.mark.parametrize(
    ("body", "needle", "message"),
    [
        # an impossible date, in both the flow and the block style
        ("        holidays:\n          - {name: 春节, date: 2027-02-30}\n", "2027-02-30", "valid date"),
        ("        holidays:\n          - name: 春节\n            from: 2027-13-01\n            to: 2027-12-03\n",
         "from: 2027-13-01", "holidays[0].from"),
        ("        workdays: [2027-02-20, 20270221]\n", "20270221", "workdays[1]"),
        ("        holidays:\n          - {name: 春节}\n", "{name: 春节}", "needs 'date', or both 'from' and 'to'"),
        ("        holidays:\n          - {name: 春节, date: 2027-02-08, to: 2027-02-12}\n", "date: 2027-02-08, to",
         "either 'date' or 'from' and 'to'"),
        ("        holidays:\n          - {date: 2027-02-08}\n", "date: 2027-02-08", "holidays[0].name"),
        ("        holidays:\n          - {name: 春节, date: 2027-02-08, note: x}\n", "note: x",
         "Extra inputs are not permitted"),
        # `to` before `from`: the line of `to`
        ("        holidays:\n          - name: 春节\n            from: 2027-02-12\n            to: 2027-02-08\n",
         "to: 2027-02-08", "'to' (2027-02-08) is before 'from' (2027-02-12)"),
        ("        holidays:\n          - {name: 春节, from: 2027-02-08, to: 2028-02-08}\n", "2028-02-08",
         "longer than 31 days"),
        # a date that is both a holiday and a workday: the line of the workday
        ("        holidays:\n          - {name: 春节, from: 2027-02-08, to: 2027-02-12}\n"
         "        workdays:\n          - 2027-02-20\n          - 2027-02-10\n",
         "- 2027-02-10", "2027-02-10 is both a make-up workday and holiday '春节' (holidays[0])"),
        # overlapping ranges with different names: the line of the later one
        ("        holidays:\n          - {name: 春节, from: 2027-02-08, to: 2027-02-12}\n"
         "          - {name: 元宵节, from: 2027-02-11, to: 2027-02-13}\n",
         "元宵节", "'元宵节' overlaps holiday '春节' (holidays[0]) on 2027-02-11"),
    ],
)
def test_calendar_errors_point_at_the_bad_line(tmp_path: Path, body: str, needle: str, message: str) -> None:
    path, text = _with_calendar(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_directory(path)
    error = str(info.value)
    assert f"{path}:{_line_of(text, needle)}: communities[0].themes.calendar." in error, error
    assert message in error, error
    assert len(error.splitlines()) == 1, error
