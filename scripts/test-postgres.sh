#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests: a new cluster in a temporary folder, listening on
# 127.0.0.1 at a free port (and a Unix socket in that folder), with a random password.
#
#   scripts/test-postgres.sh run CMD...   start one, run CMD with TEST_DATABASE_URL set, stop it
#                                          (when TEST_DATABASE_URL is set already: only run CMD)
#   scripts/test-postgres.sh start        start one; prints `export TEST_DATABASE_URL=…` and
#                                          `export TEST_POSTGRES_DIR=…` lines for eval
#   scripts/test-postgres.sh start --durable   the same with PostgreSQL's durable defaults (fsync,
#                                          synchronous_commit, full_page_writes on): for benchmarks
#   scripts/test-postgres.sh stop DIR     stop the server started in DIR and remove DIR
#
# Needs PostgreSQL's server binaries (Debian: apt-get install postgresql; no cluster of the
# package is used). PostgreSQL refuses to run as root, so as root the server runs as the
# `postgres` user the package creates (or `nobody` without it).
set -euo pipefail

die() { echo "test-postgres.sh: $*" >&2; exit 1; }

bindir() {
  local found
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    # An explicit status: a bare return in the EXIT trap would return the status the script exits with.
    return 0
  fi
  # Debian keeps the server binaries off PATH, one folder per major version: take the newest.
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$found" ] && [ -x "$found/initdb" ] || die "initdb not found: install PostgreSQL (Debian: apt-get install postgresql)"
  echo "$found"
}

# Runs a command as the server's user: ourselves, or an unprivileged user when we are root.
as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$SERVER_USER" -- "$@"
  else
    "$@"
  fi
}

server_user() {
  if [ "$(id -u)" -ne 0 ]; then id -un
  elif id -u postgres >/dev/null 2>&1; then echo postgres
  else echo nobody
  fi
}

free_port() {
  node -e 'const s = require("node:net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

start() {
  local bin dir port password durability
  # Durability settings off by default: the cluster lives for one test run.
  durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if [ "${1:-}" = "--durable" ]; then durability=""; fi
  bin=$(bindir)
  SERVER_USER=$(server_user)
  # /tmp rather than $TMPDIR: the server's user must be able to reach the folder.
  dir=$(mktemp -d /tmp/brandlift-pg.XXXXXX)
  chmod 700 "$dir"
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" >"$dir/pwfile"
  if [ "$(id -u)" -eq 0 ]; then chown -R "$SERVER_USER" "$dir"; fi
  # C collation sorts text bytewise, as SQLite's BINARY does, so ORDER BY agrees on both.
  as_server_user "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" --auth=scram-sha-256 \
    -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  rm -f "$dir/pwfile"
  port=$(free_port)
  as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir $durability -c max_connections=200" \
    start >/dev/null || { cat "$dir/server.log" >&2; die "the server did not start"; }
  echo "export TEST_DATABASE_URL=postgres://postgres:$password@127.0.0.1:$port/postgres"
  echo "export TEST_POSTGRES_DIR=$dir"
}

stop() {
  local dir=$1 bin
  [ -f "$dir/data/PG_VERSION" ] || die "no cluster in $dir"
  bin=$(bindir)
  SERVER_USER=$(stat -c %U "$dir/data")
  as_server_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  rm -rf "$dir"
}

case "${1:-}" in
  start)
    [ $# -le 2 ] && { [ $# -eq 1 ] || [ "$2" = "--durable" ]; } || die "usage: $0 start [--durable]"
    start "${2:-}"
    ;;
  stop)
    [ $# -eq 2 ] || die "usage: $0 stop DIR"
    stop "$2"
    ;;
  run)
    shift
    [ $# -gt 0 ] || die "usage: $0 run CMD..."
    if [ -n "${TEST_DATABASE_URL:-}" ]; then exec "$@"; fi
    env_lines=$(start)
    eval "$env_lines"
    trap 'stop "$TEST_POSTGRES_DIR"' EXIT
    trap 'exit 130' INT TERM
    status=0
    "$@" || status=$?
    exit "$status"
    ;;
  *)
    die "usage: $0 run CMD... | start | stop DIR"
    ;;
esac
