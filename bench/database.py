"""The databases benchmarks run on: SQLite files and a throwaway PostgreSQL cluster under var/bench/."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SCRIPT = ROOT / "scripts" / "pg-cluster.sh"


def bench_dir() -> Path:
    """Return where generated databases live: LEADFLOW_BENCH_DIR, else var/bench/."""
    path = Path(os.environ.get("LEADFLOW_BENCH_DIR") or ROOT / "var" / "bench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def log(message: str) -> None:
    """Progress goes to stderr, so --json leaves stdout to the one result object."""
    print(message, file=sys.stderr, flush=True)


@dataclass
class Database:
    """One benchmark database: `vendor` is sqlite or postgres, `name` says what it holds."""

    vendor: str
    name: str
    path: Path | None = None
    server_url: str = ""

    @property
    def url(self) -> str:
        """Return the DATABASE_URL for PostgreSQL, empty for SQLite."""
        return f"{self.server_url.rsplit('/', 1)[0]}/{self.name}" if self.vendor == "postgres" else ""

    def environ(self) -> dict[str, str]:
        """Return the environment that points Leadflow at this database."""
        env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "LEADFLOW_SQLITE_PATH"}}
        if self.vendor == "postgres":
            env["DATABASE_URL"] = self.url
        else:
            env["LEADFLOW_SQLITE_PATH"] = str(self.path)
        return env

    def remove(self) -> None:
        """Delete the database so it can be made again from nothing."""
        if self.vendor == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal", "-writer"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return
        import psycopg

        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def create(self) -> None:
        """Create the database if it does not exist (SQLite files create themselves)."""
        if self.vendor == "sqlite":
            return
        import psycopg

        with psycopg.connect(self.server_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.name}"')

    def exists(self) -> bool:
        if self.vendor == "sqlite":
            return self.path.exists()
        import psycopg

        with psycopg.connect(self.server_url, autocommit=True) as conn:
            return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.name]).fetchone())


class PostgresServer:
    """A PostgreSQL server: LEADFLOW_BENCH_PG_URL if set, else a cluster in var/bench/pg started here."""

    def __init__(self) -> None:
        self.url = os.environ.get("LEADFLOW_BENCH_PG_URL", "")
        self.port = int(os.environ.get("LEADFLOW_BENCH_PG_PORT", "54340"))
        self.directory = bench_dir() / "pg"
        self.started = False

    def __enter__(self) -> PostgresServer:
        if self.url:
            return self
        self.url = f"postgres://leadflow@127.0.0.1:{self.port}/postgres"
        if self._reachable():
            return self
        log(f"bench: starting PostgreSQL in {self.directory} on port {self.port}")
        self.directory.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(
            ["bash", str(PG_SCRIPT), "start", str(self.directory), str(self.port)],
            capture_output=True,
            text=True,
            check=True,
        )
        self.started = "DATABASE_URL=" in out.stdout
        return self

    def __exit__(self, *exc) -> None:
        if self.started:
            subprocess.run(["bash", str(PG_SCRIPT), "stop", str(self.directory)], check=False)

    def _reachable(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.url, connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True


def database(vendor: str, name: str, server: PostgresServer | None = None) -> Database:
    """Return the benchmark database `name` ('dataset', 'api') on `vendor`."""
    if vendor == "postgres":
        return Database("postgres", f"leadflow_bench_{name}", server_url=server.url)
    return Database("sqlite", name, path=bench_dir() / f"{name}.sqlite3")


def configure_django(db: Database) -> None:
    """Point this process's Django at `db` and set it up; call once, before any model import."""
    os.environ.update(db.environ())
    if db.vendor == "sqlite":
        os.environ.pop("DATABASE_URL", None)
    hosts = os.environ.get("LEADFLOW_ALLOWED_HOSTS") or "127.0.0.1,localhost"
    os.environ["LEADFLOW_ALLOWED_HOSTS"] = f"{hosts},testserver"
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadflow.settings"
    import django

    django.setup()
