"""The `leadflow` command: run the server and worker, or any management command."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time

# How long a child has to stop after SIGTERM before it is killed with everything it started.
STOP_TIMEOUT_S = 10
# How long granian gives a web worker to stop before it kills it.
WEB_WORKER_STOP_TIMEOUT_S = 5


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")
    import django

    django.setup()


def web_workers() -> int:
    """Return the number of web processes: LEADFLOW_WEB_WORKERS, else one per core."""
    from django.conf import settings

    return settings.LEADFLOW_WEB_WORKERS or os.cpu_count() or 1


def prepare() -> None:
    """Bring the database schema up to date and gather static files before serving."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def granian_command(host: str, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        "1",
        "--backpressure",
        "64",
        "--no-ws",
        "--workers-kill-timeout",
        str(WEB_WORKER_STOP_TIMEOUT_S),
        "--log-level",
        "warning",
        "leadflow.wsgi:application",
    ]


def worker_command() -> list[str]:
    return [sys.executable, "-m", "leadflow.cli", "worker"]


def run(host: str, port: int, workers: int | None, with_worker: bool = True) -> int:
    """Serve Leadflow with granian and a task worker beside it; Ctrl-C stops both."""
    _setup_django()
    prepare()
    workers = workers or web_workers()
    commands = [granian_command(host, port, workers), *([worker_command()] if with_worker else [])]
    mail_notice = mail_setup_notice()
    children: list[subprocess.Popen] = []
    try:
        children.extend(_spawn(command, own_session=True) for command in commands)
        print(
            f"Leadflow is serving on http://{host}:{port}/ ({workers} web workers"
            f"{', 1 task worker' if with_worker else ''}). Press Ctrl-C to stop.",
            flush=True,
        )
        if mail_notice:
            print(mail_notice, flush=True)
        return _supervise(children)
    finally:
        _stop(children, own_sessions=True)


def mail_setup_notice() -> str:
    """Return a line telling whoever starts Leadflow that email cannot go out yet, and how to fix it; '' if it can."""
    from leadflow.mail.services.sending import smtp_unreachable

    problem = smtp_unreachable()
    if not problem:
        return ""
    return (
        f"Email: {problem} Emails wait in the outbox (the Mail page) until LEADFLOW_SMTP_HOST and "
        "LEADFLOW_SMTP_PORT name a server that answers (docs/settings.md)."
    )


def _spawn(command: list[str], *, own_session: bool) -> subprocess.Popen:
    """Start a supervised child, in a session of its own when `own_session`.

    `leadflow run` starts the server and the worker so: a Ctrl-C at the terminal
    then reaches the supervisor alone, which stops each child with one SIGTERM.
    Granian's workers, signalled by the terminal and again by their server, could
    miss the stop and outlive it. The worker keeps its own children in its session,
    so killing that session after STOP_TIMEOUT_S takes them too.
    """
    return subprocess.Popen(command, start_new_session=own_session)


def _supervise(children: list[subprocess.Popen]) -> int:
    """Wait until a stop signal comes or a child exits; return the exit code to end with."""
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for child in children:
            code = child.poll()
            if code is not None:
                print(f"leadflow: {' '.join(child.args[2:4])} exited with {code}; stopping.", file=sys.stderr)
                exit_code, stopping = code or 1, True
        time.sleep(0.2)
    return exit_code


def _stop(children: list[subprocess.Popen], *, own_sessions: bool) -> None:
    """Stop each child with SIGTERM; kill it after STOP_TIMEOUT_S, with what is left of its session if it has one."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
        child.wait()
        if own_sessions:
            _kill_session(child.pid)


def _kill_session(pid: int) -> None:
    """Kill whatever is left in the process group of session leader `pid`: workers its stop left behind."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def tasks_worker(interval: float) -> int:
    """Run tasks from the database queue until stopped."""
    _setup_django()
    from django.core.management import call_command

    call_command("db_worker", queue_name="*", interval=interval, startup_delay=False)
    return 0


def scheduler(lane: str | None) -> int:
    """Run the periodic jobs (deadlines, due sequence steps, the outbox) until stopped."""
    _setup_django()
    from leadflow.lib.scheduler import loop

    loop(lane=lane)
    return 0


def worker(interval: float) -> int:
    """Run the task queue and the periodic jobs side by side until stopped."""
    commands = [
        [sys.executable, "-m", "leadflow.cli", "tasks", "--interval", str(interval)],
        [sys.executable, "-m", "leadflow.cli", "scheduler", "--lane", "main"],
        [sys.executable, "-m", "leadflow.cli", "scheduler", "--lane", "fast"],
    ]
    children: list[subprocess.Popen] = []
    try:
        children.extend(_spawn(command, own_session=False) for command in commands)
        return _supervise(children)
    finally:
        _stop(children, own_sessions=False)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        parser = argparse.ArgumentParser(prog="leadflow run", description=run.__doc__)
        parser.add_argument("--host", default=os.environ.get("LEADFLOW_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("LEADFLOW_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=None, help="web processes (default: one per core)")
        parser.add_argument("--no-worker", action="store_true", help="serve pages only, run no task worker")
        args = parser.parse_args(argv[1:])
        return run(args.host, args.port, args.workers, with_worker=not args.no_worker)
    if argv[:1] == ["worker"]:
        parser = argparse.ArgumentParser(prog="leadflow worker", description=worker.__doc__)
        parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls when idle")
        args = parser.parse_args(argv[1:])
        return worker(args.interval)
    if argv[:1] == ["tasks"]:
        parser = argparse.ArgumentParser(prog="leadflow tasks", description=tasks_worker.__doc__)
        parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls when idle")
        args = parser.parse_args(argv[1:])
        return tasks_worker(args.interval)
    if argv[:1] == ["scheduler"]:
        parser = argparse.ArgumentParser(prog="leadflow scheduler", description=scheduler.__doc__)
        parser.add_argument("--lane", choices=("main", "fast"), default=None, help="run one lane (default: all)")
        args = parser.parse_args(argv[1:])
        return scheduler(args.lane)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["leadflow", *argv])
    return 0


if __name__ == "__main__":
    sys.exit(main())
