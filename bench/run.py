"""`make bench`: Heard's pages and API under load at 100,000 providers and a million reviews.

Seeds a dedicated PostgreSQL database once (reused while it holds the expected rows), serves
it with gunicorn as production would (DEBUG off, two workers, persistent connections, Redis
cache unless BENCH_CACHE=off), runs wrk against each URL in turn, prints one table of
throughput and latency with each URL's ratio to /health/, always stops gunicorn, and then times
two services (bench/services.py). What it measures and the results so far: docs/performance.md.

Settings (environment): BENCH_DB_URL, BENCH_PROVIDERS, BENCH_REVIEWS, BENCH_CACHE (on|off),
BENCH_PORT, BENCH_DURATION, BENCH_THREADS, BENCH_CONNECTIONS, BENCH_WORKERS, BENCH_ONLY (a
"|"-separated list of parts of row labels to run), BENCH_REDIS_URL.
"""

# ruff: noqa: S603, S310 -- runs our own tools (manage.py, gunicorn, wrk) and fetches 127.0.0.1
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ENV = os.environ.get
DB_URL = ENV("BENCH_DB_URL", "postgres://postgres@127.0.0.1:5432/heard_bench")
PROVIDERS = int(ENV("BENCH_PROVIDERS", "100000"))
REVIEWS = int(ENV("BENCH_REVIEWS", "1000000"))
CACHE_ON = ENV("BENCH_CACHE", "on") != "off"
PORT = int(ENV("BENCH_PORT", "8765"))
DURATION = ENV("BENCH_DURATION", "10s")
THREADS = ENV("BENCH_THREADS", "2")
CONNECTIONS = ENV("BENCH_CONNECTIONS", "16")
WORKERS = ENV("BENCH_WORKERS", "2")
REDIS_URL = ENV("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
BASE = f"http://127.0.0.1:{PORT}"
REVIEWS_PER_PAGE = 20  # reviews.views.REVIEWS_PER_PAGE
# What people type: towns, kinds of business, a surname, a misspelling, two-word searches.
SEARCHES = [
    "leeds",
    "dentist",
    "dentsit",
    "garage bristol",
    "bakery",
    "hair salon",
    "smith",
    "oak",
    "pharmacy manchester",
    "vets york",
    "surgery",
    "cycles",
    "care home",
    "opticians glasgow",
    "the crown",
    "mot",
]


def main() -> int:
    wrk = shutil.which("wrk")
    if not wrk:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    env = _server_env()
    _prepare_database(env)
    _collectstatic(env)
    urls = _urls()
    # Labels hold commas ("provider, 4,185 reviews"): a "|"-separated list of label parts.
    only = [x.strip() for x in ENV("BENCH_ONLY", "").split("|") if x.strip()]
    if only:
        urls = [u for u in urls if u[0] == "/health/" or any(x in u[0] for x in only)]
    log = ROOT / "var" / "bench" / "gunicorn.log"
    print(
        f"Serving with gunicorn ({WORKERS} workers, cache {'on' if CACHE_ON else 'off'}); log {log}"
    )
    server = _start_gunicorn(env, log)
    results = []
    try:
        _wait_for_health()
        if CACHE_ON:
            _flush_cache()
        for label, path, paths_file in urls:
            _warm(path, paths_file)
            results.append((label, path, _wrk(wrk, path, paths_file)))
    finally:
        _stop(server)
    _print_table(results)
    print()
    print("Service latency with the data present (each call in a transaction rolled back):")
    subprocess.run([PYTHON, str(ROOT / "bench" / "services.py")], env=env, cwd=ROOT, check=True)
    return 0


# --- database ----------------------------------------------------------------------------------
def _server_env() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(ROOT),
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": DB_URL,
        "CACHE_URL": REDIS_URL if CACHE_ON else "dummycache://",
        "CACHE_KEY_PREFIX": "heard-bench",
        "SECURE_SSL_REDIRECT": "False",
        "CONN_MAX_AGE": "600",
        # The API's anonymous throttle (120/minute) would answer most of wrk's requests with
        # 429; lifted here, so the list endpoints are measured (the throttle's cache round trip
        # stays in the measurement).
        "API_ANON_RATE": "100000000/minute",
        "BENCH_STATIC_ROOT": str(ROOT / "var" / "bench" / "static"),
    }


def _prepare_database(env: dict[str, str]) -> None:
    """Create, migrate and seed the benchmark database, unless it already holds the data."""
    name = urllib.parse.urlparse(DB_URL).path.lstrip("/")
    server = DB_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            print(f"Creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')
    manage = [PYTHON, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True)
    providers, reviews = _counts()
    if providers >= PROVIDERS and reviews >= REVIEWS:
        print(f"Reusing {name}: {providers:,} providers, {reviews:,} reviews")
        return
    print(f"Seeding {name} with {PROVIDERS:,} providers and {REVIEWS:,} reviews")
    started = time.monotonic()
    subprocess.run(
        [*manage, "seed_demo", "--providers", str(PROVIDERS), "--reviews", str(REVIEWS)],
        env=env,
        cwd=ROOT,
        check=True,
    )
    print(f"Seeded in {time.monotonic() - started:.0f} s")


def _counts() -> tuple[int, int]:
    with psycopg.connect(DB_URL) as conn:
        providers = conn.execute("SELECT count(*) FROM reviews_provider").fetchone()[0]
        reviews = conn.execute("SELECT count(*) FROM reviews_review").fetchone()[0]
    return providers, reviews


def _collectstatic(env: dict[str, str]) -> None:
    subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], env=env, cwd=ROOT, check=True
    )


def _urls() -> list[tuple[str, str, str | None]]:
    """(label, path, file of rotating paths or None), chosen from the data."""
    with psycopg.connect(DB_URL) as conn:
        big, big_count = conn.execute(
            "SELECT slug, review_count FROM reviews_provider WHERE is_active "
            "ORDER BY review_count DESC, id LIMIT 1"
        ).fetchone()
        small, small_count = conn.execute(
            "SELECT slug, review_count FROM reviews_provider WHERE is_active "
            "AND review_count BETWEEN 3 AND 6 ORDER BY id LIMIT 1"
        ).fetchone()
    deep = max(1, big_count // REVIEWS_PER_PAGE)
    searches = ROOT / "var" / "bench" / "searches.txt"
    searches.parent.mkdir(parents=True, exist_ok=True)
    searches.write_text(
        "".join(f"/providers/?{urllib.parse.urlencode({'q': q})}\n" for q in SEARCHES)
    )
    return [
        ("/health/", "/health/", None),
        ("home", "/", None),
        (f"search ({len(SEARCHES)} queries)", "/providers/?q=leeds", str(searches)),
        (f"provider, {big_count:,} reviews", f"/providers/{big}/", None),
        (f"provider, {small_count} reviews", f"/providers/{small}/", None),
        (f"provider, page {deep}", f"/providers/{big}/?page={deep}", None),
        ("API providers", "/api/v1/providers/", None),
        ("API provider reviews", f"/api/v1/providers/{big}/reviews/", None),
    ]


# --- server ------------------------------------------------------------------------------------
def _start_gunicorn(env: dict[str, str], log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    gunicorn = str(Path(PYTHON).parent / "gunicorn")
    command = [gunicorn, "portal.wsgi", "-w", WORKERS, "-b", f"127.0.0.1:{PORT}"]
    with log.open("ab") as out:
        return subprocess.Popen(
            [*command, "--error-logfile", "-"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so _stop ends the workers too
        )


def _wait_for_health(timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{BASE}/health/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /health/ in time; see var/bench/gunicorn.log")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, 15)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, 9)
        server.wait()


def _flush_cache() -> None:
    """Start from a cold cache: the first requests of each URL fill it (and are warm-up)."""
    subprocess.run(
        [PYTHON, "-c", f"import redis; redis.Redis.from_url({REDIS_URL!r}).flushdb()"],
        check=True,
    )


def _warm(path: str, paths_file: str | None) -> None:
    """One request per path before measuring; a URL that does not answer 200 is reported."""
    paths = Path(paths_file).read_text().split() if paths_file else [path]
    for p in paths:
        try:
            with urllib.request.urlopen(BASE + p, timeout=30) as response:
                response.read()
        except urllib.error.HTTPError as error:
            print(f"  warning: {p} answered {error.code}")


# --- measuring -------------------------------------------------------------------------------
def _wrk(wrk: str, path: str, paths_file: str | None) -> dict:
    # A 10 s timeout (wrk: 2 s), so a slow URL shows its real latency rather than timeouts.
    command = [
        wrk,
        "-t",
        THREADS,
        "-c",
        CONNECTIONS,
        "-d",
        DURATION,
        "--timeout",
        "10s",
        "--latency",
    ]
    if paths_file:
        command += ["-s", str(ROOT / "bench" / "wrk_rotate.lua"), BASE, "--", paths_file]
    else:
        command.append(BASE + path)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return _parse_wrk(out)


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _parse_wrk(out: str) -> dict:
    def latency(pct: str) -> float:
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return float(match[1]) * UNITS[match[2]] if match else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": float(rps[1]) if rps else 0.0,
        "p50": latency("50"),
        "p99": latency("99"),
        "non2xx": int(bad[1]) if bad else 0,
        "errors": errors[0] if errors else "",
    }


def _print_table(results: list) -> None:
    health = next((r["rps"] for label, _p, r in results if label == "/health/"), 0.0) or 1.0
    load = Path("/proc/loadavg").read_text().split()[:3]
    print()
    print(
        f"wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION}, {WORKERS} gunicorn workers, cache "
        f"{'on' if CACHE_ON else 'off'}, load average after: {' '.join(load)}"
    )
    header = f"{'URL':<30} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'x health':>9}  non-2xx"
    print(header)
    print("-" * len(header))
    for label, _path, r in results:
        print(
            f"{label:<30} {r['rps']:>9.1f} {r['p50']:>9.2f} {r['p99']:>9.2f} "
            f"{r['rps'] / health:>9.2f}  {r['non2xx'] or ''}"
        )
        if r["errors"]:
            print(f"  {r['errors']}")
    print()
    for label, path, _r in results:
        print(f"  {label:<30} {path}")


if __name__ == "__main__":
    sys.exit(main())
