"""Loads and validates a community file: a broken one stops start-up with `ConfigError`, whose message
names the file, the line and what is wrong, e.g.
``demo.yaml:41: communities[0].services[2].team: unknown team 'abc'``.

PyYAML's composed node tree keeps each value's line, which pydantic's error locations are followed
through (`_line_of`); ids that must name something defined elsewhere in the file are checked here too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.community import Community, CommunityFile, ConfigError, Directory
from config.themes import MAX_HOLIDAY_DAYS, HolidayCalendar


class _Loader(yaml.SafeLoader):
    """safe_load, except that an impossible date (2027-02-30) stays text for pydantic to report
    with its line, instead of a bare ValueError from PyYAML."""


def _date_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _date_or_text)


def _line_of(node: yaml.Node | None, loc: Sequence[Any]) -> int | None:
    """Follows a pydantic error location through the composed YAML tree to a 1-based line."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if child is None:
                # The key itself is the problem (e.g. an unknown key): point at the key.
                key = next((k for k, _ in node.value if getattr(k, "value", None) == part), None)
                return key.start_mark.line + 1 if key is not None else line
            node = child
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _loc_text(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _cross_reference_errors(data: CommunityFile) -> list[tuple[tuple[Any, ...], str]]:
    """Checks what pydantic cannot: ids that must name something defined elsewhere in the file."""
    errors: list[tuple[tuple[Any, ...], str]] = []
    seen_groups: set[str] = set()
    seen_people: set[str] = set()
    for ci, c in enumerate(data.communities):
        base = ("communities", ci)
        group_ids = {g.id for g in c.groups}
        team_ids = {t.id for t in c.teams}
        person_ids = {p.id for p in c.people}
        staff_ids = c.staff_ids()
        for gi, g in enumerate(c.groups):
            if g.id in seen_groups:
                errors.append(((*base, "groups", gi, "id"), f"duplicate group id {g.id!r}"))
            seen_groups.add(g.id)
        for pi, p in enumerate(c.people):
            if p.id in seen_people:
                errors.append(((*base, "people", pi, "id"), f"duplicate person id {p.id!r}"))
            seen_people.add(p.id)
            for k, gid in enumerate(p.groups):
                if gid not in group_ids:
                    errors.append(((*base, "people", pi, "groups", k), f"unknown group {gid!r}"))
        for ti, t in enumerate(c.teams):
            for k, member in enumerate(t.members):
                if member not in person_ids:
                    errors.append(((*base, "teams", ti, "members", k), f"unknown person {member!r}"))
            if t.lead is not None and t.lead not in t.members:
                errors.append(((*base, "teams", ti, "lead"), f"the lead {t.lead!r} is not a member of the team"))
        for si, s in enumerate(c.services):
            if s.team not in team_ids:
                errors.append(((*base, "services", si, "team"), f"unknown team {s.team!r}"))
        seen_services: set[str] = set()
        for si, s in enumerate(c.services):
            if s.id in seen_services:
                errors.append(((*base, "services", si, "id"), f"service {s.id!r} is defined twice"))
            seen_services.add(s.id)
        for gi, grid in enumerate(c.grids):
            for k, worker in enumerate(grid.workers):
                if worker not in staff_ids:
                    errors.append(((*base, "grids", gi, "workers", k), f"{worker!r} is not a staff member"))
        for day, theme in c.themes.weekly.items():
            if theme.team is not None and theme.team not in team_ids:
                errors.append(((*base, "themes", "weekly", day, "team"), f"unknown team {theme.team!r}"))
        errors.extend(_holiday_calendar_errors((*base, "themes", "calendar"), c.themes.calendar))
        errors.extend(_request_rule_errors(base, c, group_ids, person_ids))
        if c.staff_group() is None:
            errors.append(((*base, "groups"), "a community needs one group of kind 'staff'"))
    return errors


def _request_rule_errors(base: tuple[Any, ...], c: Community, group_ids: set[str],
                         person_ids: set[str]) -> list[tuple[tuple[Any, ...], str]]:
    """Numbers, categories, groups and people the request rules name must exist."""
    errors: list[tuple[tuple[Any, ...], str]] = []
    rules = (*base, "requests")
    categories = set(c.requests.category_tiers)
    numbers = {n.id for n in c.emergency_numbers}
    for ui, cue in enumerate(c.requests.urgent_cues):
        for k, number in enumerate(cue.numbers):
            if number not in numbers:
                errors.append(((*rules, "urgent_cues", ui, "numbers", k), f"unknown emergency number {number!r}"))
        if cue.category not in categories:
            errors.append(((*rules, "urgent_cues", ui, "category"), f"unknown category {cue.category!r}"))
    for key in c.requests.deadlines:
        if key != "urgent" and key not in categories:
            errors.append(((*rules, "deadlines", key), f"unknown category {key!r} (or 'urgent')"))
    for key in c.requests.objects:
        if key not in categories:
            errors.append(((*rules, "objects", key), f"unknown category {key!r}"))
    street = c.requests.street_contacts
    if street.group is not None:
        group = c.group(street.group)
        if street.group not in group_ids:
            errors.append(((*rules, "street_contacts", "group"), f"unknown group {street.group!r}"))
        elif group is not None and group.kind != "street":
            errors.append(((*rules, "street_contacts", "group"), f"group {street.group!r} is not of kind 'street'"))
    for k, person in enumerate(street.people):
        if person not in person_ids:
            errors.append(((*rules, "street_contacts", "people", k), f"unknown person {person!r}"))
    return errors


def _holiday_calendar_errors(base: tuple[Any, ...], calendar: HolidayCalendar) -> list[tuple[tuple[Any, ...], str]]:
    """Ranges in order and not too long; no date two different holidays, or a holiday and a workday."""
    errors: list[tuple[tuple[Any, ...], str]] = []
    taken: dict[dt.date, tuple[int, str]] = {}  # date -> (index, name) of the first holiday with it
    for hi, holiday in enumerate(calendar.holidays):
        here = (*base, "holidays", hi)
        if holiday.from_ is not None and holiday.to is not None:
            if holiday.to < holiday.from_:
                errors.append(((*here, "to"), f"'to' ({holiday.to}) is before 'from' ({holiday.from_})"))
                continue
            if (holiday.to - holiday.from_).days + 1 > MAX_HOLIDAY_DAYS:
                errors.append(((*here, "to"), f"{holiday.from_}..{holiday.to} is longer than {MAX_HOLIDAY_DAYS} "
                                              "days: a typo?"))
                continue
        clashes: dict[int, tuple[str, dt.date]] = {}
        for date in holiday.days():
            first = taken.setdefault(date, (hi, holiday.name))
            if first[1] != holiday.name:
                clashes.setdefault(first[0], (first[1], date))
        for other, (name, date) in clashes.items():
            errors.append((here, f"{holiday.name!r} overlaps holiday {name!r} (holidays[{other}]) on {date}"))
    for wi, date in enumerate(calendar.workdays):
        if date in taken:
            hi, name = taken[date]
            errors.append(((*base, "workdays", wi), f"{date} is both a make-up workday and holiday {name!r} "
                                                     f"(holidays[{hi}])"))
    return errors


def load_directory(path: Path | str) -> Directory:
    """Loads and validates a community file; raises `ConfigError` pointing at the bad line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the community file: {exc.strerror or exc}") from exc
    try:
        node = yaml.compose(text)
        raw = yaml.load(text, Loader=_Loader)  # a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from exc
    try:
        data = CommunityFile.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            line = _line_of(node, loc)
            where = f"{path}:{line}" if line else str(path)
            lines.append(f"{where}: {_loc_text(loc) or '(top level)'}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None
    problems = _cross_reference_errors(data)
    if problems:
        raise ConfigError(
            "\n".join(f"{path}:{_line_of(node, loc) or '?'}: {_loc_text(loc)}: {msg}" for loc, msg in problems)
        )
    return Directory(data.communities, source=path)
