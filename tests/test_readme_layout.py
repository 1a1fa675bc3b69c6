"""The README's "What is where" names files that exist, and "Where to look first" names functions
that are defined where it says: a newcomer's map that cannot drift from the code unnoticed."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## What is where"):README.index("\n## ", README.index("## What is where") + 1)]


def test_every_file_the_table_names_exists() -> None:
    missing = []
    for row in re.findall(r"^\| `([^`]+)` \|(.*)\|$", SECTION, re.MULTILINE):
        base, rest = row
        for name in re.findall(r"`([^`\s]+(?:\.py|\.yaml|/))`", rest):
            if not any(any(REPO_ROOT.glob(f"{folder}{name}")) for folder in ("", base, "config/")):
                missing.append(f"{base} {name}")
    assert missing == []


def test_where_to_look_first_points_at_the_definitions() -> None:
    pointers = re.findall(r"`([\w/]+\.py)` \(`(\w+)`", SECTION)
    assert len(pointers) >= 4
    for path, name in pointers:
        source = (REPO_ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^\s*(?:async )?def {name}\(", source, re.MULTILINE), f"{name} is not defined in {path}"
