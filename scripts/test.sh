#!/usr/bin/env bash
# The whole suite: lint, then every test on SQLite, then again on a real PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

bash scripts/system-deps.sh
$BIN/ruff check .

# Both cores: each test file runs whole in one worker process.
workers=(-n "${LEADFLOW_TEST_WORKERS:-auto}" --dist loadfile)

echo "== tests on SQLite (with the browser tests)"
$BIN/pytest "${workers[@]}" "$@"

pgdir=$(mktemp -d /tmp/leadflow-pg.XXXXXX)
chmod 755 "$pgdir"
trap 'bash scripts/pg-cluster.sh stop "$pgdir"; rm -rf "$pgdir"' EXIT
export "$(bash scripts/pg-cluster.sh start "$pgdir" "${LEADFLOW_TEST_PG_PORT:-54329}")"
echo "== tests on PostgreSQL ($DATABASE_URL)"
$BIN/pytest "${workers[@]}" -m "not e2e" "$@"
