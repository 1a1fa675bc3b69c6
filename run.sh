#!/usr/bin/env bash
# Installs what linli needs into .venv (first time only) and starts the bot with the embedded
# defaults: SQLite file linli.db, the demo community, the web simulator on http://127.0.0.1:8080/.
# Any `linli serve` option works, e.g. ./run.sh --port 8090 --database-url postgresql://…
set -euo pipefail
cd "$(dirname "$0")"
scripts/ensure-venv.sh
exec .venv/bin/linli serve "$@"
