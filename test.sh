#!/usr/bin/env bash
# Installs what the tests need and runs the whole suite (pytest arguments pass through).
# Needs a PostgreSQL server, Debian's Chromium, fonts-noto-cjk and nginx: installed (and started) here
# when missing and this user is root; otherwise those tests are skipped with a reason — except in CI
# (CI=true), where a missing PostgreSQL, Chromium, CJK font or nginx fails the run.
set -euo pipefail
cd "$(dirname "$0")"
scripts/ensure-venv.sh test

# Debian packages the tests drive: Chromium (browser tests), the CJK font (the staff web's charts
# are labelled in Chinese with it, and Chromium shows the pages with it) and nginx (tests/scale: two
# bot processes behind deploy/nginx-linli.conf). PostgreSQL is handled below.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing+=(fonts-noto-cjk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ "$(id -u)" = 0 ] && [ ${#missing[@]} -gt 0 ]; then
    echo "linli: installing Debian's ${missing[*]} for the tests…" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ -z "${LINLI_TEST_POSTGRES_URL:-}" ]; then
    if scripts/postgres-for-tests.sh; then
        export LINLI_TEST_POSTGRES_URL=postgresql://linli:linli@127.0.0.1:5432/linli_test
    elif [ -n "${CI:-}" ]; then
        echo "linli: PostgreSQL could not be started, and CI needs it" >&2
        exit 1
    else
        echo "linli: no PostgreSQL; the PostgreSQL tests will be skipped" >&2
    fi
fi

exec .venv/bin/python -m pytest "$@"
