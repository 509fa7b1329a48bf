#!/bin/sh
# Start a throw-away PostgreSQL on 127.0.0.1, run the given command with WATCHHOUSE_TEST_PG_URL set, stop it.
# Usage: scripts/postgres-test-server.sh [install | run -- COMMAND...]
set -eu
here=$(dirname "$0")
py="$here/../.venv/bin/python"
[ -x "$py" ] || py=python3
exec "$py" "$here/postgres_test_server.py" "$@"
