"""`make bench`: Heard's pages and API under load at 100,000 providers and a million reviews.

Seeds a dedicated PostgreSQL database once (reused while it holds the expected rows), serves
it with gunicorn as production would (DEBUG off, two workers, persistent connections), and in
one run:

1. with every cache on (Redis): wrk against each URL in turn, one table of throughput and
   latency with each URL's ratio to /health/, the search's latency one request at a time, and
   the workers' memory after the load;
2. the provider pages again with the anonymous page cache off (their cached parts still on),
   and 3. with no cache at all (Django's DummyCache);
4. the latency of two services (bench/services.py) and the CPU time of rendering the provider
   page template (bench/render.py);
5. the issue's targets, each marked met or not.

gunicorn is always stopped. What it measures and the results so far: docs/performance.md.

Settings (environment): BENCH_DB_URL, BENCH_PROVIDERS, BENCH_REVIEWS, BENCH_CACHE (on|off:
off runs only the no-cache pass), BENCH_PORT, BENCH_DURATION, BENCH_THREADS,
BENCH_CONNECTIONS, BENCH_WORKERS, BENCH_ONLY (a "|"-separated list of parts of row labels to
run), BENCH_REDIS_URL, BENCH_SEARCH_ROUNDS, BENCH_SERVICE_CALLS, BENCH_RENDER_CALLS.
"""

# ruff: noqa: S603, S310 -- runs our own tools (manage.py, gunicorn, wrk) and fetches 127.0.0.1
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import server as gunicorn  # noqa: E402

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


# The passes of one run: the whole site with every cache on, then the provider pages with the
# anonymous page cache off (the page's cached parts still on) and with no cache at all.
PASSES = [
    ("cache on", {}, None),
    ("page cache off", {"PROVIDER_PAGE_CACHE": "False"}, "provider"),
    ("no cache at all", {"CACHE_URL": "dummycache://"}, "provider"),
]
TARGET_CACHED, TARGET_UNCACHED, TARGET_SEARCH_P95_MS, TARGET_RSS_MB = 0.7, 0.25, 50.0, 150.0
SEARCH_ROUNDS = int(ENV("BENCH_SEARCH_ROUNDS", "10"))


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
    passes = PASSES if CACHE_ON else [("no cache at all", {"CACHE_URL": "dummycache://"}, None)]
    summary = {}
    for name, overrides, rows in passes:
        chosen = [u for u in urls if rows is None or u[0] == "/health/" or rows in u[0]]
        results, extra = _pass(wrk, name, {**env, **overrides}, chosen)
        _print_table(name, results)
        summary[name] = (results, extra)
    print()
    print("Service latency with the data present (each call in a transaction rolled back):")
    subprocess.run([PYTHON, str(ROOT / "bench" / "services.py")], env=env, cwd=ROOT, check=True)
    print()
    subprocess.run([PYTHON, str(ROOT / "bench" / "render.py")], env=env, cwd=ROOT, check=True)
    _print_targets(summary)
    return 0


def _pass(wrk: str, name: str, env: dict, urls: list) -> tuple[list, dict]:
    """One gunicorn, every URL under wrk, then the search's latency one request at a time and
    the workers' memory; gunicorn is always stopped."""
    log = ROOT / "var" / "bench" / "gunicorn.log"
    print(f"\n[{name}] gunicorn, {WORKERS} workers, CACHE_URL={env['CACHE_URL']}; log {log}")
    server = gunicorn.start(env, port=PORT, log=log, workers=WORKERS)
    results, extra = [], {}
    try:
        gunicorn.wait_for_health(BASE, log=log)
        if env["CACHE_URL"].startswith("redis"):
            _flush_cache()
        for label, path, paths_file in urls:
            _warm(path, paths_file)
            results.append((label, path, _wrk(wrk, path, paths_file)))
        searches = [u for u in urls if u[2]]
        if searches:
            extra["search"] = _sequential_latency(searches[0][2])
        extra["rss_mb"] = _worker_rss_mb(server.pid)
    finally:
        gunicorn.stop(server)
    return results, extra


def _sequential_latency(paths_file: str) -> dict:
    """Each search once per round, one request at a time (no queueing behind other
    connections): the latency a visitor sees, p50 and p95 over every request."""
    paths = Path(paths_file).read_text().split()
    times = []
    for _round in range(SEARCH_ROUNDS):
        for path in paths:
            started = time.perf_counter()
            with urllib.request.urlopen(BASE + path, timeout=30) as response:
                response.read()
            times.append((time.perf_counter() - started) * 1000)
    q = statistics.quantiles(times, n=20)
    return {"n": len(times), "p50": statistics.median(times), "p95": q[-1], "max": max(times)}


def _worker_rss_mb(master: int) -> list[float]:
    """Resident memory of each gunicorn worker (the master's children), after the load."""
    sizes = []
    for child in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        status = Path(f"/proc/{child}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        if match:
            sizes.append(int(match[1]) / 1024)
    return sizes


def _print_targets(summary: dict) -> None:
    def ratio(pass_name: str, part: str) -> float | None:
        results = summary.get(pass_name, ([], {}))[0]
        health = next((r["rps"] for label, _p, r in results if label == "/health/"), 0.0)
        pages = [r["rps"] for label, _p, r in results if part in label]
        return min(pages) / health if pages and health else None

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "NOT met")

    print("\nTargets (issue #10)")
    for pass_name, goal in [("cache on", TARGET_CACHED), ("page cache off", TARGET_UNCACHED)]:
        value = ratio(pass_name, "provider, ")
        shown = "n/a" if value is None else f"{value:.2f}"
        ok = None if value is None else value >= goal
        print(
            f"  anonymous provider pages, {pass_name}: worst {shown} x /health/ "
            f"(target >= {goal}): {verdict(ok)}"
        )
    search = summary.get("cache on", ([], {}))[1].get("search")
    if search:
        print(
            f"  search, one request at a time: p50 {search['p50']:.1f} ms, p95 "
            f"{search['p95']:.1f} ms, max {search['max']:.1f} ms over {search['n']} "
            f"(target p95 <= {TARGET_SEARCH_P95_MS:.0f} ms): "
            f"{verdict(search['p95'] <= TARGET_SEARCH_P95_MS)}"
        )
    for pass_name, (_results, extra) in summary.items():
        if extra.get("rss_mb"):
            worst = max(extra["rss_mb"])
            sizes = ", ".join(f"{mb:.0f}" for mb in extra["rss_mb"])
            print(
                f"  worker RSS after the {pass_name} pass: {sizes} MB "
                f"(target <= {TARGET_RSS_MB:.0f}): {verdict(worst <= TARGET_RSS_MB)}"
            )


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


def _print_table(name: str, results: list) -> None:
    health = next((r["rps"] for label, _p, r in results if label == "/health/"), 0.0) or 1.0
    load = Path("/proc/loadavg").read_text().split()[:3]
    print()
    print(
        f"[{name}] wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION}, {WORKERS} gunicorn workers, "
        f"load average after: {' '.join(load)}"
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
