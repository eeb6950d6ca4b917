"""gunicorn for the measuring tools (make bench, make lighthouse): started in a process group
of its own, waited for until /health/ answers, and always stopped with its workers."""

# ruff: noqa: S603, S310 -- runs our own gunicorn and fetches 127.0.0.1
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# --no-control-socket: gunicorn 27's control socket would be shared by parallel servers.
OPTIONS = ["--no-control-socket", "--error-logfile", "-"]


def start(env: dict[str, str], *, port: int, log: Path, workers: int | str = 2) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn, "portal.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}", *OPTIONS]
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() ends the workers too
        )


def wait_for_health(base: str, *, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # refused, reset or timed out while gunicorn starts
            time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer {base}/health/ in time; see {log}")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
