#!/usr/bin/env bash
# Makes sure a local PostgreSQL server (Debian's package) runs on 127.0.0.1:5432 with a `linli`
# role and a `linli_test` database, installing it if needed. Prints nothing but errors; the URL the
# tests use is postgresql://linli:linli@127.0.0.1:5432/linli_test (LINLI_TEST_POSTGRES_URL).
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "PostgreSQL is not installed and this user cannot apt-get install it" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version main"; then
    pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | grep "^$version main" | grep -q online; then
    pg_ctlcluster "$version" main start
fi

for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }

as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else sh -c "$1"; fi; }
as_postgres "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='linli'\"" | grep -q 1 \
    || as_postgres "psql -qc \"CREATE ROLE linli LOGIN SUPERUSER PASSWORD 'linli'\""
as_postgres "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='linli_test'\"" | grep -q 1 \
    || as_postgres "createdb -O linli linli_test"
