#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the tests and benchmarks.
#   scripts/pg-cluster.sh start DIR [PORT]   prints DATABASE_URL=... on success
#   scripts/pg-cluster.sh stop DIR
# PostgreSQL refuses to run as root, so under root the cluster runs as the
# unprivileged system user `leadflow-pg`, created if needed.
set -euo pipefail

action=${1:?start or stop}
dir=${2:?cluster directory}
port=${3:-54329}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "PostgreSQL is not installed: run scripts/system-deps.sh" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u leadflow-pg -- "$@"; else "$@"; fi
}

case "$action" in
  start)
    if [ "$(id -u)" -eq 0 ] && ! id leadflow-pg >/dev/null 2>&1; then
      useradd --system --no-create-home --shell /usr/sbin/nologin leadflow-pg
    fi
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown leadflow-pg "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bindir/initdb" -D "$dir/data" -U leadflow --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bindir/psql" -h 127.0.0.1 -p "$port" -U leadflow -d postgres -qtAc \
      "SELECT 1 FROM pg_database WHERE datname='leadflow'" | grep -q 1 \
      || as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U leadflow leadflow
    echo "DATABASE_URL=postgres://leadflow@127.0.0.1:$port/leadflow"
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  *) echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac
