"""Sign-up chains (接龙): a title, then entries numbered 1, 2, 3 ...

In a WeChat group a resident signs up by pasting the whole chain back with their own entry added
last ("【周六理发接龙】 1. 2栋 王 上午 2. 5栋 孙 3. 502 李阿姨 下午"), so the last entry is the
sender's: its day and part of day are their booking's, before the title's or another entry's.
"""

from __future__ import annotations

import re

# An entry's number at the start of the text or after a space: "1." "2、" "3)" or a bare "1 "
# (normalization turns "1、" into "1 ").
_ENTRY = re.compile(r"(?:^|\s)(\d{1,2})(?:[.．)）]\s*|\s+)(?=\S)")


def last_entry(text: str) -> int | None:
    """Where the last entry of a chain starts (after its number), or None when `text` holds no run
    of at least two entries numbered 1, 2, ... in order."""
    expected, start = 1, None
    for m in _ENTRY.finditer(text):
        if int(m.group(1)) == expected:
            expected += 1
            start = m.end()
    return start if expected > 2 else None
