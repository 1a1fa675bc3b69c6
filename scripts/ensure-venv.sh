#!/usr/bin/env bash
# Creates .venv and installs linli into it (editable) with the given extras; reinstalls only when
# pyproject.toml changed. Usage: scripts/ensure-venv.sh [extras]   e.g. scripts/ensure-venv.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp=".venv/.linli-installed-$(sha1sum pyproject.toml | cut -c1-12)-${extras:-base}"
if [ ! -f "$stamp" ]; then
    echo "linli: installing dependencies into .venv (first run takes a minute)…" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    # compat mode puts the checkout on sys.path, so new packages are found without reinstalling.
    .venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec" \
        --config-settings editable_mode=compat
    touch "$stamp"
fi
