"""`make lighthouse`: Lighthouse scores of Heard's main pages, served as production serves them.

Creates a fresh demo database in var/lighthouse/ (migrate, seed_demo), collects the static
files, starts gunicorn with DEBUG off and whitenoise's compressed manifest storage on
127.0.0.1, signs the demo customer in (a session made here, passed to Lighthouse as a
cookie), and runs Lighthouse (npm package, Debian Chromium) with its mobile default and its
desktop preset on the home page, the directory, a provider page and the review form, five
times each (the median run is kept, chosen as Lighthouse's computeMedianRun does). The JSON
(and HTML) reports are kept in var/lighthouse/; the results are written into docs/quality.md
below its "results" marker. gunicorn is always stopped. Exits 1 when any score is below 100
(listing them), after writing the doc.

Settings (environment): LIGHTHOUSE_PORT (8201), LIGHTHOUSE_ONLY (a comma-separated list of
page names: home, directory, provider, review-form), LIGHTHOUSE_PRESETS (mobile,desktop),
LIGHTHOUSE_RUNS (5), CHROME_PATH (/usr/bin/chromium), LIGHTHOUSE_CHROME_FLAGS, LIGHTHOUSE_DOC
(docs/quality.md; var/lighthouse/quality.md for a run of some pages or one preset).
"""

# ruff: noqa: S603, S607, S310 -- runs our own tools (manage.py, gunicorn, node, git) and
# fetches 127.0.0.1
import datetime
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import server as gunicorn  # noqa: E402

PYTHON = sys.executable
ENV = os.environ.get
PORT = int(ENV("LIGHTHOUSE_PORT", "8201"))
BASE = f"http://127.0.0.1:{PORT}"
OUT = ROOT / "var" / "lighthouse"
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROME_PATH = ENV("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = ENV(
    "LIGHTHOUSE_CHROME_FLAGS",
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync",
)
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
PRESETS = [p.strip() for p in ENV("LIGHTHOUSE_PRESETS", "mobile,desktop").split(",") if p]
RUNS = int(ENV("LIGHTHOUSE_RUNS", "5"))
ONLY = [p.strip() for p in ENV("LIGHTHOUSE_ONLY", "").split(",") if p.strip()]
# (audit id, label, unit): the metrics each page's row shows.
METRICS = [
    ("first-contentful-paint", "FCP", "ms"),
    ("largest-contentful-paint", "LCP", "ms"),
    ("total-blocking-time", "TBT", "ms"),
    ("cumulative-layout-shift", "CLS", ""),
    ("speed-index", "Speed Index", "ms"),
    ("total-byte-weight", "transfer", "bytes"),
]
PAGES = ["home", "directory", "provider", "review-form"]
# A partial run (some pages or one preset) reports beside its JSON, not over the whole table.
PARTIAL = bool(ONLY) or sorted(PRESETS) != ["desktop", "mobile"]
DOC = ROOT / ENV("LIGHTHOUSE_DOC", "var/lighthouse/quality.md" if PARTIAL else "docs/quality.md")
MARKER = "<!-- Everything below is written by `make lighthouse`. -->"


def main() -> int:
    if not LIGHTHOUSE.exists():
        print("node_modules/.bin/lighthouse is missing: run `make node`", file=sys.stderr)
        return 2
    unknown = (set(ONLY) - set(PAGES)) | (set(PRESETS) - {"mobile", "desktop"})
    if unknown:
        print(f"Unknown page or preset: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if not Path(CHROME_PATH).exists():
        print(f"{CHROME_PATH} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.report.*"):  # a page left out this time has no stale report
        old.unlink()
    env = _server_env()
    _fresh_database(env)
    subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--noinput", "--clear", "-v0"],
        env=env,
        cwd=ROOT,
        check=True,
    )
    pages, cookie = _pages_and_session(env)
    if ONLY:
        pages = [p for p in pages if p[0] in ONLY]
    headers = OUT / "signed-in-headers.json"
    headers.write_text(json.dumps({"Cookie": cookie}))
    headers.chmod(0o600)

    results = []
    server = gunicorn.start(env, port=PORT, log=OUT / "gunicorn.log")
    # The server is stopped however this ends: an error, Ctrl-C or a SIGTERM.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        gunicorn.wait_for_health(BASE, log=OUT / "gunicorn.log")
        for name, path, signed_in in pages:
            _warm(path, cookie if signed_in else None)
            for preset in PRESETS:
                print(f"Lighthouse {preset:<7} {name:<12} {path}", flush=True)
                report, runs = _lighthouse(name, path, preset, headers if signed_in else None)
                results.append((name, path, signed_in, preset, report, runs))
    finally:
        gunicorn.stop(server)
        headers.unlink(missing_ok=True)

    _write_doc(results)
    print(f"Wrote {DOC}; reports in {OUT}/")
    below = [
        (name, preset, cat, _score(report, cat))
        for name, _path, _s, preset, report, _runs in results
        for cat in CATEGORIES
        if _score(report, cat) != 100
    ]
    if below:
        print("\nScores below 100:", file=sys.stderr)
        for name, preset, cat, score in below:
            print(f"  {name} ({preset}): {cat} {score}", file=sys.stderr)
        return 1
    print("Every page scores 100 in every category on every preset.")
    return 0


# --- the site ----------------------------------------------------------------------------------
def _server_env() -> dict[str, str]:
    """Production settings (DEBUG off, compressed manifest static files served by whitenoise)
    on a local SQLite file; plain HTTP, as Lighthouse talks to 127.0.0.1 directly."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(ROOT),
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": BASE,
        "DATABASE_URL": f"sqlite:///{OUT / 'db.sqlite3'}",
        "SECURE_SSL_REDIRECT": "False",
        "EMAIL_URL": "dummymail://",
        "TASKS_BACKEND": "immediate",
        "LOG_LEVEL": "WARNING",
        "BENCH_STATIC_ROOT": str(OUT / "static"),
    }


def _fresh_database(env: dict[str, str]) -> None:
    for suffix in ("", "-wal", "-shm"):
        (OUT / f"db.sqlite3{suffix}").unlink(missing_ok=True)
    manage = [PYTHON, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True)
    subprocess.run(
        [*manage, "seed_demo", "--quiet-logins"],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _pages_and_session(env: dict[str, str]) -> tuple[list[tuple[str, str, bool]], str]:
    """The pages to measure, chosen from the demo data, and a session cookie of the demo
    customer (for the review form, which needs someone signed in)."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from reviews.models import Provider

    customer = get_user_model().objects.get(email="customer@example.com")
    providers = Provider.objects.filter(is_active=True).order_by("-review_count", "id")
    busiest = providers.first()
    # The review form is offered only to someone who has not reviewed the provider lately.
    unreviewed = providers.exclude(reviews__author=customer).first()
    client = Client()
    client.force_login(customer)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    pages = [
        ("home", "/", False),
        ("directory", "/providers/?q=dent", False),
        ("provider", f"/providers/{busiest.slug}/", False),
        ("review-form", f"/providers/{unreviewed.slug}/review/", True),
    ]
    return pages, cookie


# No control socket: its default path (~/.gunicorn/) is shared with every other gunicorn.


def _warm(path: str, cookie: str | None) -> None:
    """One request first (fills the caches a visitor would find warm); it must answer 200."""
    request = urllib.request.Request(BASE + path, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 200 or (cookie and response.url != BASE + path):
            raise RuntimeError(f"{path} answered {response.status} at {response.url}")
        response.read()


# --- Lighthouse --------------------------------------------------------------------------------
def _lighthouse(name: str, path: str, preset: str, headers: Path | None) -> tuple[dict, list]:
    """RUNS runs of one page and preset; the median run is kept, with every run's performance
    score. A run that fails to record its trace (it happens now and then) is tried again."""
    runs = []
    for run in range(1, RUNS + 1):
        for attempt in range(3):
            report = _lighthouse_once(OUT / f"{name}-{preset}-run{run}", path, preset, headers)
            if report is not None:
                break
            print(f"  run {run}: Lighthouse failed, trying again ({attempt + 1})", flush=True)
        else:
            raise RuntimeError(f"Lighthouse failed three times on {path} ({preset})")
        if report["finalDisplayedUrl"] != BASE + path:  # e.g. sent to sign in: not this page
            raise RuntimeError(f"{path} ended at {report['finalDisplayedUrl']}")
        runs.append((run, report))
    run, report = _median_run(runs)
    stem = OUT / f"{name}-{preset}"
    for ext in ("json", "html"):
        shutil.copyfile(OUT / f"{name}-{preset}-run{run}.report.{ext}", f"{stem}.report.{ext}")
    return report, [_score(r, "performance") for _run, r in runs]


def _median_run(runs: list[tuple[int, dict]]) -> tuple[int, dict]:
    """Lighthouse's own choice (core/lib/median-run.js, computeMedianRun): the run nearest to
    both the median first contentful paint and the median time to interactive, ties to the
    earliest interactive. Not the median score, which still swings with one outlier."""

    def value(report: dict, audit_id: str) -> float:
        return report["audits"][audit_id]["numericValue"]

    fcp = statistics.median(value(r, "first-contentful-paint") for _n, r in runs)
    tti = statistics.median(value(r, "interactive") for _n, r in runs)
    return min(
        runs,
        key=lambda run: (
            (fcp - value(run[1], "first-contentful-paint")) ** 2
            + (tti - value(run[1], "interactive")) ** 2,
            value(run[1], "interactive"),
        ),
    )


def _lighthouse_once(stem: Path, path: str, preset: str, headers: Path | None) -> dict | None:
    command = [
        str(LIGHTHOUSE),
        BASE + path,
        "--quiet",
        "--output=json",
        "--output=html",
        f"--output-path={stem}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROME_FLAGS}",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    if headers:
        command.append(f"--extra-headers={headers}")
    run = subprocess.run(command, env={**os.environ, "CHROME_PATH": CHROME_PATH}, check=False)
    report_path = Path(f"{stem}.report.json")
    if run.returncode != 0 or not report_path.exists():
        return None
    report = json.loads(report_path.read_text())
    return None if report.get("runtimeError") else report


def _score(report: dict, category: str) -> int | None:
    score = report["categories"][category]["score"]
    return None if score is None else round(score * 100)


def _failing(report: dict) -> list[tuple[str, str, str, float | None, float]]:
    """Every audit of the four categories that does not pass: (category, id, title, score,
    weight). Audits Lighthouse only informs about, or cannot apply, are left out."""
    rows = []
    for category in CATEGORIES:
        for ref in report["categories"][category]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            mode = audit["scoreDisplayMode"]
            if mode in ("notApplicable", "informative", "manual"):
                continue
            if audit["score"] is None or audit["score"] < 1:
                rows.append((category, ref["id"], audit["title"], audit["score"], ref["weight"]))
    return rows


def _metric(report: dict, audit_id: str, unit: str) -> str:
    value = report["audits"][audit_id].get("numericValue")
    if value is None:
        return "–"
    if unit == "ms":
        return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"
    if unit == "bytes":
        return f"{value / 1024:.1f} KiB"
    return f"{value:.3f}"


# --- the doc -----------------------------------------------------------------------------------
def _write_doc(results: list) -> None:
    if not results:
        return
    first = results[0][4]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    versions = {
        "Lighthouse": first["lighthouseVersion"],
        "Chromium": _chromium_version(first),
        "Node.js": subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip(),
        "Python": sys.version.split()[0],
        **_python_versions(),
    }
    run_line = (
        f"Run {now} on commit {_commit()} (`make lighthouse`, the median of {RUNS} runs "
        "per page and preset). "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + ". Load average after the run: "
        + " ".join(Path("/proc/loadavg").read_text().split()[:3])
        + "."
    )
    lines = [
        MARKER,
        "",
        "## Results",
        "",
        textwrap.fill(run_line, 100, break_long_words=False, break_on_hyphens=False),
        "",
        "### Scores",
        "",
        "| page | URL | preset | performance | accessibility | best practices | SEO "
        "| performance of each run |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for name, path, signed_in, preset, report, runs in results:
        who = " (signed in)" if signed_in else ""
        scores = " | ".join(_bold_unless_100(_score(report, c)) for c in CATEGORIES)
        each = ", ".join(str(score) for score in runs)
        lines.append(f"| {name}{who} | `{path}` | {preset} | {scores} | {each} |")
    lines += [
        "",
        "### Metrics",
        "",
        "| page | preset | " + " | ".join(label for _id, label, _u in METRICS) + " |",
        "|---|---|" + "---:|" * len(METRICS),
    ]
    for name, _path, _s, preset, report, _runs in results:
        values = " | ".join(_metric(report, audit_id, unit) for audit_id, _l, unit in METRICS)
        lines.append(f"| {name} | {preset} | {values} |")
    lines += ["", "### Audits not passing", "", *_failing_lines(results)]
    lines.append("")

    text = DOC.read_text() if DOC.exists() else "# Quality\n\n"
    head = text.split(MARKER, 1)[0].rstrip("\n")
    DOC.write_text(head + "\n\n" + "\n".join(lines))


def _failing_lines(results: list) -> list[str]:
    """Audits that count and do not pass, one row per page and preset; then those Lighthouse
    shows with weight 0 (they do not count), one row per audit with where it was seen."""
    counted, shown = [], {}
    for name, _path, _s, preset, report, _runs in results:
        for category, audit_id, title, score, weight in _failing(report):
            title = title.replace("|", "\\|").replace("`", "")
            value = "–" if score is None else f"{score:.2f}"
            if weight:
                counted.append(
                    f"| {name} | {preset} | {category} | `{audit_id}` | {title} | {value} "
                    f"| {weight:g} |"
                )
            else:
                shown.setdefault((category, audit_id, title), []).append(
                    f"{name} {preset} ({value})"
                )
    lines = ["Counted in a score:", ""]
    if counted:
        lines += [
            "| page | preset | category | audit | title | score | weight |",
            "|---|---|---|---|---|---:|---:|",
            *counted,
        ]
    else:
        lines.append("None: every audit that counts passes on every page and preset.")
    lines += ["", "Shown with weight 0 (not counted in the score):", ""]
    if shown:
        lines += ["| category | audit | title | where (score) |", "|---|---|---|---|"]
        for (category, audit_id, title), where in shown.items():
            lines.append(f"| {category} | `{audit_id}` | {title} | {', '.join(where)} |")
    else:
        lines.append("None.")
    return lines


def _bold_unless_100(score: int | None) -> str:
    if score is None:
        return "**error**"
    return str(score) if score == 100 else f"**{score}**"


def _chromium_version(report: dict) -> str:
    """From the binary ("Chromium 156.0.8078.129 built on Debian …"): the user agent that
    Lighthouse reports is reduced to "156.0.0.0"."""
    run = subprocess.run([CHROME_PATH, "--version"], capture_output=True, text=True, check=False)
    words = run.stdout.split()
    if len(words) >= 2 and words[1][:1].isdigit():
        return words[1]
    return report["environment"]["hostUserAgent"]


def _python_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name.lower()) for name in ("Django", "gunicorn", "whitenoise")}


def _commit() -> str:
    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return run.stdout.strip()

    commit = f"`{git('rev-parse', '--short', 'HEAD') or 'unknown'}`"
    return f"{commit} plus uncommitted changes" if git("status", "--porcelain") else commit


if __name__ == "__main__":
    if not shutil.which("node"):
        print("node is missing (Node.js 20 or later)", file=sys.stderr)
        sys.exit(2)
    sys.exit(main())
