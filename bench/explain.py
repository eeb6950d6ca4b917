"""`make explain`: the query plans behind every list Heard shows, on the benchmark's data.

Requests each list URL in process with Django's test client against heard_bench (DEBUG off, no
cache, signed in as the user the page is for: a member of a big provider, a customer with
tickets, a superuser), records every SQL statement the page runs, and runs EXPLAIN (ANALYZE,
BUFFERS) on each SELECT that reads one of the big tables, with the statement's own SQL and
parameters. Writes docs/query-plans.md: a summary table that flags sequential scans of big
tables, sorts of more than 1,000 rows, aggregates over more than 10,000 rows, filters that throw
away more than 10,000 and results of more than 10,000, then each URL's statements and plans.

It only knows URLs, so it keeps working as views and selectors change. It never writes to the
database: every connection is read-only (default_transaction_read_only), sessions live in signed
cookies and signing in runs none of the login receivers (last_login, user sessions, audit).

Settings (environment): BENCH_DB_URL, EXPLAIN_OUT (default docs/query-plans.md), EXPLAIN_FULL_MS
(plans of unflagged statements faster than this are shown as one line; default 20), EXPLAIN_ONLY
(comma-separated parts of paths: request only the URLs that contain one).
"""

# ruff: noqa: E402, S603, S607 -- Django is set up before the project's imports; runs git
import datetime
import os
import re
import secrets
import subprocess
import sys
import time
import traceback
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DB_URL", "postgres://postgres@127.0.0.1:5432/heard_bench")
OUT = Path(os.environ.get("EXPLAIN_OUT", str(ROOT / "docs" / "query-plans.md")))
FULL_MS = float(os.environ.get("EXPLAIN_FULL_MS", "20"))
ONLY = [x for x in os.environ.get("EXPLAIN_ONLY", "").split(",") if x]
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": DB_URL,
        "CACHE_URL": "dummycache://",  # every page computed, nothing served from a cache
        "SECURE_SSL_REDIRECT": "False",
        # Staff would be sent to set up a second factor before the admin; what is measured is
        # the pages behind it.
        "MFA_REQUIRED": "False",
        # Templates render without the collected static files' manifest.
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "LOG_FORMAT": "plain",
        "LOG_LEVEL": "ERROR",
    }
)

import django

django.setup()

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db import DatabaseError, connection
from django.db.backends.signals import connection_created
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

BIG_TABLES = (
    "reviews_review",
    "reviews_provider",
    "responses_reply",
    "responses_ticket",
    "responses_ticketevent",
    "reviews_moderationdecision",
    "accounts_user",
    "reviews_report",
    "reviews_reviewrevision",
)
BIG_RE = re.compile(r"\b(" + "|".join(BIG_TABLES) + r")\b")
PER_PAGE = 20  # reviews.views.REVIEWS_PER_PAGE and the API's PAGE_SIZE
SORT_ROWS = 1_000  # a sort of more rows than this is flagged
MANY_ROWS = 10_000  # an aggregate over, a filter discarding or a result of more rows: flagged


def _read_only(sender, connection, **kwargs):
    """Every statement on heard_bench runs in a read-only transaction: pages and EXPLAIN
    ANALYZE can read, nothing can write (a write fails, and the URL is reported)."""
    with connection.cursor() as cursor:
        cursor.execute("SET default_transaction_read_only = on")
        cursor.execute("SET statement_timeout = '120s'")


connection_created.connect(_read_only)


# --- what to request -------------------------------------------------------------------------
@dataclass
class Target:
    section: str
    path: str
    who: str = ""  # "", "member", "customer" or "staff"
    skipped: str = ""  # why it was not requested


@dataclass
class Data:
    big: str
    big_count: int
    small: str
    small_count: int
    category: str
    town: str
    customer: int | None
    staff: int | None
    member: int | None
    member_slug: str
    tables: dict[str, int]
    vacuum: str


def _row(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _data() -> Data:
    big, big_count = _row(
        "SELECT slug, review_count FROM reviews_provider WHERE is_active "
        "ORDER BY review_count DESC, id LIMIT 1"
    )
    small, small_count = _row(
        "SELECT slug, review_count FROM reviews_provider WHERE is_active "
        "AND review_count BETWEEN 3 AND 6 ORDER BY id LIMIT 1"
    )
    (category,) = _row(
        "SELECT c.slug FROM reviews_category c JOIN reviews_provider p ON p.category_id = c.id "
        "WHERE p.is_active GROUP BY c.slug ORDER BY count(*) DESC, c.slug LIMIT 1"
    )
    (town,) = _row(
        "SELECT town FROM reviews_provider WHERE is_active GROUP BY town "
        "ORDER BY count(*) DESC, town LIMIT 1"
    )
    customer = _row(
        "SELECT t.customer_id FROM responses_ticket t JOIN accounts_user u ON u.id = t.customer_id "
        "WHERE u.is_active GROUP BY t.customer_id ORDER BY count(*) DESC, t.customer_id LIMIT 1"
    )
    staff = _row(
        "SELECT id FROM accounts_user WHERE is_superuser AND is_active ORDER BY id LIMIT 1"
    )
    # A member (owners first) of the provider with the most reviews that has members.
    member = _row(
        "SELECT m.user_id, p.slug FROM responses_membership m "
        "JOIN reviews_provider p ON p.id = m.provider_id "
        "JOIN accounts_user u ON u.id = m.user_id "
        "WHERE p.is_active AND u.is_active "
        "ORDER BY p.review_count DESC, (m.role = 'owner') DESC, m.id LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r' "
            "AND relname = ANY(%s)",
            [list(BIG_TABLES)],
        )
        tables = dict(cursor.fetchall())
    return Data(
        vacuum=_vacuum_state(),
        big=big,
        big_count=big_count,
        small=small,
        small_count=small_count,
        category=category,
        town=town,
        customer=customer[0] if customer else None,
        staff=staff[0] if staff else None,
        member=member[0] if member else None,
        member_slug=member[1] if member else "",
        tables=tables,
    )


def _vacuum_state() -> str:
    """Whether the plans saw a vacuumed database: without VACUUM the visibility map is empty,
    so index-only scans visit the heap, and dead rows are still read."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        (autovacuum,) = cursor.fetchone()
        cursor.execute(
            "SELECT c.relname, s.n_dead_tup, c.relallvisible, c.relpages, "
            "greatest(s.last_vacuum, s.last_autovacuum) IS NOT NULL FROM pg_class c "
            "JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = ANY(%s) "
            "ORDER BY c.relname",
            [list(BIG_TABLES)],
        )
        rows = cursor.fetchall()
    vacuumed = [name for name, _dead, _visible, _pages, done in rows if done]
    visible = sum(r[2] for r in rows) / (sum(r[3] for r in rows) or 1)
    dead = [f"{name} {n:,}" for name, n, *_rest in rows if n > SORT_ROWS]
    text = (
        f"autovacuum {autovacuum}; big tables vacuumed: {', '.join(vacuumed) or 'none'}; "
        f"{visible:.0%} of their pages all-visible; dead rows: {', '.join(dead) or 'few'}"
    )
    if visible < 0.5:
        text += (
            " (**until the tables are vacuumed, the planner avoids index-only scans: a "
            "`COUNT(*)` or `MAX()` a covering index could answer is planned as a heap scan "
            "here**)"
        )
    return text


# Why a page could not be requested: nobody in the data to sign in as (the data is only read).
MISSING = {
    "member": "heard_bench has no Membership rows, so no business member to sign in as",
    "customer": "heard_bench has no tickets, so no customer with tickets",
    "staff": "heard_bench has no active superuser",
}


def _q(**params) -> str:
    return "?" + urllib.parse.urlencode(params)


def _targets(d: Data) -> list[Target]:
    deep = max(1, d.big_count // PER_PAGE)
    big_page, big_api = f"/providers/{d.big}/", f"/api/v1/providers/{d.big}/reviews/"
    t = [
        Target("Directory", "/providers/"),
        *(
            Target("Directory", "/providers/" + _q(q=q))
            for q in ("leeds", "dentist", "dentsit", "smith", "garage bristol")
        ),
        Target("Directory", "/providers/" + _q(category=d.category)),
        Target("Directory", "/providers/" + _q(town=d.town)),
        Target("Directory", "/providers/" + _q(min_rating=4)),
        *(
            Target("Directory", "/providers/" + _q(ordering=o))
            for o in ("-score", "-review_count", "name")
        ),
        Target("Directory", "/providers/" + _q(q="dentist", ordering="-score")),
        Target("Provider page", big_page),
        *(
            Target("Provider page", big_page + _q(sort=s))
            for s in ("-helpful_count", "-rating", "rating")
        ),
        Target("Provider page", big_page + _q(rating=1)),
        Target("Provider page", big_page + _q(page=deep)),
        Target("Provider page", f"/providers/{d.small}/"),
        Target("API", "/api/v1/providers/"),
        Target("API", "/api/v1/providers/" + _q(search="leeds")),
        Target("API", "/api/v1/providers/" + _q(search="dentsit")),
        *(
            Target("API", "/api/v1/providers/" + _q(ordering=o))
            for o in ("-score", "-review_count", "name")
        ),
        Target("API", big_api),
        *(Target("API", big_api + _q(ordering=o)) for o in ("-helpful_count", "-rating", "rating")),
        Target("API", big_api + _q(rating=1)),
        Target("API", big_api + _q(has_reply="true")),
        Target("API", big_api + _q(has_reply="false")),
        Target("API", big_api + _q(page=deep)),
        Target("API", "/api/v1/tickets/", "member"),
        Target("API", "/api/v1/tickets/", "customer"),
    ]
    slug = d.member_slug or "<provider>"
    t += [Target("Business dashboard", "/business/", "member")]
    t += [
        Target("Business dashboard", f"/business/{slug}/" + (_q(tab=tab) if tab else ""), "member")
        for tab in ("", "pending", "replied", "rejected")
    ]
    t += [
        Target("Business dashboard", f"/business/{slug}/tickets/" + query, "member")
        for query in ("", _q(status="all"), _q(overdue="on"))
    ]
    t += [
        Target("Customer's account", "/accounts/tickets/", "customer"),
        Target("Customer's account", "/accounts/reviews/", "customer"),
    ]
    admin = [
        "/admin/",
        "/admin/reviews/pendingreview/",
        "/admin/reviews/pendingrevision/",
        "/admin/reviews/openreport/",
        "/admin/responses/pendingreply/",
        "/admin/responses/pendingreplyrevision/",
        "/admin/responses/pendingclaim/",
        "/admin/responses/escalatedticket/",
        "/admin/reviews/moderationdecision/",
        "/admin/reviews/review/",
        "/admin/responses/ticket/",
    ]
    t += [Target("Admin moderation", path, "staff") for path in admin]
    t += [
        Target("Feed and sitemap", f"/providers/{d.big}/feed/"),
        Target("Feed and sitemap", "/sitemap.xml"),
    ]
    users = {"member": d.member, "customer": d.customer, "staff": d.staff}
    for target in t:
        if target.who and users[target.who] is None:
            target.skipped = MISSING[target.who]
    return t


# --- requesting and recording ----------------------------------------------------------------
@dataclass
class Statement:
    sql: str
    params: object
    ms: float


@dataclass
class Plan:
    lines: list[str]
    execution_ms: float
    flags: list[str]
    notes: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class Result:
    target: Target
    status: str = ""
    queries: int = 0
    slowest_ms: float = 0.0
    statements: list[Statement] = field(default_factory=list)


@contextmanager
def _quiet_login():
    """Signing in must write nothing: no last_login, no user-session row, no audit line."""
    saved = user_logged_in.receivers
    user_logged_in.receivers = []
    user_logged_in.sender_receivers_cache.clear()
    try:
        yield
    finally:
        user_logged_in.receivers = saved
        user_logged_in.sender_receivers_cache.clear()


def _clients(d: Data) -> dict[str, Client]:
    clients = {"": Client()}
    users = get_user_model().objects
    for who, pk in (("member", d.member), ("customer", d.customer), ("staff", d.staff)):
        if pk is None:
            continue
        client = Client()
        with _quiet_login():
            client.force_login(users.get(pk=pk))
        clients[who] = client
    return clients


def _request(client: Client, target: Target) -> Result:
    result = Result(target)
    statements: list[Statement] = []

    def record(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if not many:
                statements.append(Statement(sql, params, (time.perf_counter() - started) * 1000))

    try:
        client.get(target.path)  # warm-up: the process's caches and PostgreSQL's buffers
        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(record):
            response = client.get(target.path)
    except Exception as error:  # a page that fails is reported, the others still run
        result.status = f"error: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
        traceback.print_exc()
        return result
    result.status = str(response.status_code)
    if response.status_code in (301, 302):
        result.status += f" → {response.headers.get('Location', '')}"
    result.queries = len(captured)
    result.slowest_ms = max((s.ms for s in statements), default=0.0)
    result.statements = statements
    return result


def _explainable(sql: str) -> bool:
    return bool(
        re.match(r"[\s(]*(SELECT|WITH)\b", sql, re.I)  # a UNION starts with "(SELECT"
        and not re.search(r"\bFOR (UPDATE|SHARE|NO KEY UPDATE)\b", sql, re.I)
        and BIG_RE.search(sql)
    )


def _explain(statement: Statement) -> Plan:
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + statement.sql, statement.params
            )
            lines = [row[0] for row in cursor.fetchall()]
    except DatabaseError as error:
        return Plan([], 0.0, [], error=str(error).splitlines()[0])
    match = next(
        (re.search(r"Execution Time: ([\d.]+) ms", x) for x in lines if "Execution" in x), None
    )
    return Plan(lines, float(match[1]) if match else 0.0, *_flags(lines))


# --- reading plans ---------------------------------------------------------------------------
NODE_RE = re.compile(
    r"^(?P<indent>\s*(?:->\s+)?)(?P<name>[A-Z][^(]*?)\s+\(cost=[^)]*\)"
    r"(?: \(actual time=[\d.]+\.\.[\d.]+ rows=(?P<rows>\d+) loops=(?P<loops>\d+)\))?"
)
AGGREGATE_RE = re.compile(
    r"^(Partial |Finalize )?(Aggregate|GroupAggregate|HashAggregate|MixedAggregate)$"
)


@dataclass
class Node:
    indent: int
    name: str
    rows: int  # actual rows over all loops
    loops: int
    details: list[str]

    def detail_number(self, label: str) -> int:
        """A per-loop figure such as 'Rows Removed by Filter', over all loops."""
        for line in self.details:
            match = re.match(rf"\s*{label}: (\d+)", line)
            if match:
                return int(match[1]) * max(self.loops, 1)
        return 0


def _nodes(lines: list[str]) -> list[Node]:
    nodes: list[Node] = []
    for line in lines:
        match = NODE_RE.match(line)
        if match:
            loops = int(match["loops"] or 0)
            rows = int(match["rows"] or 0) * loops
            nodes.append(Node(len(match["indent"]), match["name"].strip(), rows, loops, []))
        elif nodes:
            nodes[-1].details.append(line)
    return nodes


def _input_rows(nodes: list[Node], i: int) -> int:
    """Rows the node at i consumed: its first child's output."""
    if i + 1 < len(nodes) and nodes[i + 1].indent > nodes[i].indent:
        return nodes[i + 1].rows
    return 0


def _flags(lines: list[str]) -> tuple[list[str], list[str]]:
    """(flags, notes): what needs an index or a different query, and what is worth knowing but
    fine, such as a sequential scan that stops after a few rows."""
    flags, notes = [], []
    nodes = _nodes(lines)
    if nodes and nodes[0].rows > MANY_ROWS:  # a whole table handed to Python
        flags.append(f"returns {nodes[0].rows:,} rows")
    for i, node in enumerate(nodes):
        removed = node.detail_number("Rows Removed by Filter")
        seq = re.match(r"(Parallel )?Seq Scan on (\w+)", node.name)
        if seq and seq[2] in BIG_TABLES and node.loops:
            read = node.rows + removed
            text = f"Seq Scan on {seq[2]} ({read:,} rows read)"
            (flags if read > SORT_ROWS else notes).append(text)
        elif removed > MANY_ROWS:
            flags.append(f"{node.name}: filter discards {removed:,} rows")
        if node.name in ("Sort", "Incremental Sort") and _input_rows(nodes, i) > SORT_ROWS:
            methods = re.findall(r"Sort Method: ([\w-]+(?: [\w-]+)?)", "\n".join(node.details))
            method = f" ({methods[0]})" if methods else ""
            flags.append(f"{node.name} of {_input_rows(nodes, i):,} rows{method}")
        if AGGREGATE_RE.match(node.name) and _input_rows(nodes, i) > MANY_ROWS:
            flags.append(f"{node.name} over {_input_rows(nodes, i):,} rows")
    return list(dict.fromkeys(flags)), list(dict.fromkeys(notes))


def _compact(lines: list[str]) -> str:
    """One line for a quick, unflagged plan: the scans it uses and its time."""
    scans = []
    for node in _nodes(lines):
        if "Scan" in node.name and node.name not in scans:
            scans.append(node.name)
    timing = next((x.strip() for x in lines if x.startswith("Execution Time")), "")
    return f"{'; '.join(scans) or 'no scan'} — {timing}"


# Detail lines kept under each plan node; the rest (workers, memoize and hash bookkeeping, the
# buffers of each node but the top one) would triple the document's length.
KEPT_DETAILS = re.compile(
    r"\s*(Index Cond|Recheck Cond|Filter|Join Filter|Hash Cond|Merge Cond|Sort Key|Presorted Key"
    r"|Rows Removed by \w+( \w+)?|Sort Method|Group Key|Order By|Heap Blocks|Timing):"
)


# Look-ups by a primary or unique key: their conditions say nothing new.
KEY_LOOKUP_RE = re.compile(r"Index (Only )?Scan (Backward )?using \w+_(pkey|key) ")


def _trimmed_plan(lines: list[str]) -> list[str]:
    """The plan's nodes with the details that say how rows are found, the top node's buffers,
    JIT's timing if JIT ran, and the execution time; parts never executed are left out."""
    out, top_buffers, keep_details, jit = [], True, True, False
    header, skip_below = None, None  # a SubPlan/InitPlan line waits for its first node
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        if skip_below is not None and indent > skip_below:
            continue
        skip_below = None
        node = NODE_RE.match(line)
        if re.match(r"\s*(SubPlan|InitPlan|CTE) ", line):
            header = line
        elif node:
            name = node["name"].strip()
            if "(never executed)" in line:
                skip_below, header = indent, None
                continue
            if header:
                out.append(header)
                header = None
            keep_details = not KEY_LOOKUP_RE.match(name + " ")
            out.append(line)
        elif line.strip().startswith("Buffers:") and top_buffers and out:
            out.append(line)
            top_buffers = False
        elif re.match(r"(Execution Time|JIT):", line):
            out.append(line)
            jit = jit or line.startswith("JIT:")
        elif (jit or keep_details) and KEPT_DETAILS.match(line):
            out.append(line)
    return out


# --- showing SQL -----------------------------------------------------------------------------
def _trim_select_lists(sql: str) -> str:
    """`SELECT a, b, c, … FROM` → `SELECT … FROM` wherever the list is long."""
    upper, out, i = sql.upper(), [], 0
    while True:
        start = upper.find("SELECT ", i)
        if start < 0:
            out.append(sql[i:])
            return "".join(out)
        body = start + len("SELECT ")
        depth, end = 0, -1
        for j in range(body, len(sql)):
            if sql[j] == "(":
                depth += 1
            elif sql[j] == ")":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and upper.startswith(" FROM ", j):
                end = j
                break
        if end < 0 or end - body <= 60:
            out.append(sql[i:body])
            i = body
        else:
            out.append(sql[i:body] + "…")
            i = end


def _display_sql(statement: Statement, *, short: bool = False) -> str:
    """The statement with its parameters in place, select lists, long IN lists and long strings
    cut, a line per clause (or, `short`, one line without the main table's name on columns)."""
    try:
        text = connection.ops.compose_sql(statement.sql, statement.params)
    except Exception:  # shown with its placeholders rather than not at all
        text = statement.sql
    text = _trim_select_lists(text.replace('"', ""))
    text = re.sub(  # long IN lists: the first few values and how many
        r"IN \(([^()]{80,}?)\)",
        lambda m: f"IN ({', '.join(m[1].split(', ')[:3])}, … {len(m[1].split(', '))} values)",
        text,
    )
    text = re.sub(r"'(?:[^']|'')*'", lambda m: m[0] if len(m[0]) < 60 else m[0][:50] + "…'", text)
    if short:
        table = re.search(r" FROM (\w+)", text)
        if table:
            text = re.sub(rf"\b{table[1]}\.", "", text)
        return text if len(text) <= 400 else text[:400] + " …"
    keywords = r"FROM|WHERE|INNER JOIN|LEFT OUTER JOIN|GROUP BY|HAVING|ORDER BY|LIMIT|UNION"
    text = re.sub(rf" ({keywords}) ", r"\n\1 ", text)
    return text if len(text) <= 1500 else text[:1500] + " …"


# --- the document ----------------------------------------------------------------------------
def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return ""


def _commit() -> str:
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = subprocess.run(
        ["git", "diff-index", "--quiet", "HEAD", "--"], cwd=ROOT, capture_output=True, check=False
    ).returncode
    return f"`{commit}`" + (" plus uncommitted changes in the work tree" if dirty else "")


def main() -> int:
    started = time.monotonic()
    load = Path("/proc/loadavg").read_text().split()[:3]
    try:
        d = _data()
    except DatabaseError as error:
        print(f"Cannot read {DB_URL}: {error}\nSeed it first: make bench-seed", file=sys.stderr)
        return 2
    if d.tables.get("reviews_review", 0) < 1:
        print(f"{DB_URL} holds no reviews; seed it first: make bench-seed", file=sys.stderr)
        return 2
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies"):
        clients = _clients(d)
        results = []
        for target in _targets(d):
            if ONLY and not any(part in target.path for part in ONLY):
                continue
            if target.skipped:
                results.append(Result(target, status="skipped"))
                print(f"  {target.path}: skipped, {target.skipped}")
                continue
            print(f"  {target.path} ({target.who or 'anonymous'})", flush=True)
            results.append(_request(clients[target.who], target))
        plans = _explain_all(results)
    OUT.write_text(_document(d, results, plans, load, time.monotonic() - started))
    print(f"Wrote {OUT.relative_to(ROOT) if OUT.is_relative_to(ROOT) else OUT}")
    return 0


def _key(statement: Statement) -> tuple[str, str]:
    """The statement's identity, with times left out: pages compute "a year ago" from now, and
    a statement that differs only in that is the same statement."""
    params = statement.params
    if isinstance(params, list | tuple):
        params = ["<time>" if isinstance(p, datetime.date) else p for p in params]
    return statement.sql, repr(params)


def _explain_all(results: list[Result]) -> dict[tuple[str, str], Plan]:
    """One EXPLAIN per distinct statement: per URL, the slowest run of each SQL text."""
    plans: dict[tuple[str, str], Plan] = {}
    for result in results:
        for statement in _shown(result):
            if _key(statement) not in plans:
                plans[_key(statement)] = _explain(statement)
    return plans


def _shown(result: Result) -> list[Statement]:
    """The statements worth a plan: each SQL text once (its slowest run), big tables only."""
    slowest: dict[str, Statement] = {}
    for s in result.statements:
        if _explainable(s.sql) and (s.sql not in slowest or s.ms > slowest[s.sql].ms):
            slowest[s.sql] = s
    return list(slowest.values())


def _document(d: Data, results, plans, load, seconds: float) -> str:
    today = datetime.date.today().isoformat()
    who = {
        "": "anonymous",
        "member": f"member of `{d.member_slug}`" if d.member else "a business member",
        "customer": f"customer #{d.customer}",
        "staff": f"superuser #{d.staff}",
    }
    out = [
        "# Query plans of every list (generated)",
        "",
        f"Generated by `make explain` (`bench/explain.py`) on {today} at commit {_commit()}, "
        "against `heard_bench`. Do not edit by hand: run `make explain` again. How the data is "
        "made and what the numbers mean: [performance.md](performance.md).",
        "",
        "Each URL is requested twice in process (Django test client, `DEBUG=False`, "
        "`CACHE_URL=dummycache://`); the second request's statements are recorded with their "
        "SQL and parameters, and each `SELECT` that reads a big table is run again under "
        "`EXPLAIN (ANALYZE, BUFFERS)`. A statement the page runs several times is explained "
        "once, at its slowest run; one already shown under an earlier URL (the same SQL and "
        "parameters, times aside) is only referred to. Unflagged plans under "
        f"{FULL_MS:g} ms are shown as one line: the scans they use. Times are from one warm run "
        f"on a shared machine (load average {' '.join(load)} at the start; {seconds:.0f} s in "
        "all): compare plans, not milliseconds.",
        "",
        f"Flagged (⚠): a `Seq Scan` of more than {SORT_ROWS:,} rows of a big table, a sort of "
        f"more than {SORT_ROWS:,} rows, an aggregate over more than {MANY_ROWS:,} rows "
        f"(typically a `COUNT(*)`), a filter that throws away more than {MANY_ROWS:,} rows an "
        f"index returned, a result of more than {MANY_ROWS:,} rows.",
        "",
        "Data: "
        + ", ".join(f"{name} {rows:,}" for name, rows in sorted(d.tables.items()))
        + " rows (planner estimates). "
        f"Vacuum: {d.vacuum}. "
        f"Biggest provider `{d.big}` ({d.big_count:,} published reviews); small provider "
        f"`{d.small}` ({d.small_count}); category `{d.category}`, town `{d.town}`. "
        "Signed in as: "
        + "; ".join(
            f"{role}: " + (who[role] if pk is not None else f"**none** ({MISSING[role]})")
            for role, pk in (("member", d.member), ("customer", d.customer), ("staff", d.staff))
        )
        + ".",
        "",
        "## Summary",
        "",
        "| URL | as | status | queries | big-table SELECTs | slowest ms | flags |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        shown = _shown(r)
        flags = _summary_flags([f for s in shown for f in plans[_key(s)].flags])
        out.append(
            f"| `{r.target.path}` | {r.target.who or 'anonymous'} | {r.status} "
            f"| {r.queries or ''} | {len(shown) or ''} "
            f"| {_ms(r.slowest_ms) if r.queries else ''} "
            f"| {'<br>'.join(f'⚠ {f}' for f in flags)} |"
        )
    seen: dict[tuple, str] = {}  # statement or (SQL, plan shape) → the URL it was shown under
    section = None
    for r in results:
        if r.target.section != section:
            section = r.target.section
            out += ["", f"## {section}"]
        out += ["", f"### `{r.target.path}` ({who[r.target.who]})"]
        out += _url_section(r, plans, seen)
    return "\n".join(out) + "\n"


def _summary_flags(flags: list[str]) -> list[str]:
    """One flag per kind and table, with the largest row count."""
    largest: dict[str, tuple[int, str]] = {}
    for flag in flags:
        kind = re.sub(r"\d[\d,]*", "#", flag)
        rows = int(re.sub(r"\D", "", re.search(r"\d[\d,]*", flag)[0]))
        if kind not in largest or rows > largest[kind][0]:
            largest[kind] = (rows, flag)
    return sorted(flag for _rows, flag in largest.values())


def _url_section(r: Result, plans, seen: dict[tuple, str]) -> list[str]:
    """The URL's statements: new ones with their SQL and plan (or its scans, when quick and
    unflagged); those seen under an earlier URL referred to, with the plan or without."""
    if r.status == "skipped":
        return [f"Not requested: {MISSING[r.target.who]}."]
    shown = _shown(r)
    out = [
        f"Status {r.status}; {r.queries} queries, {len(shown)} distinct SELECTs on big tables; "
        f"slowest statement {_ms(r.slowest_ms)} ms as run."
    ]
    counts: dict[str, int] = {}
    for s in r.statements:
        counts[s.sql] = counts.get(s.sql, 0) + 1
    repeats: dict[str, list[str]] = {}
    for n, s in enumerate(shown, 1):
        plan = plans[_key(s)]
        head = f"{n}. {_ms(s.ms)} ms as run" + (f" (×{counts[s.sql]})" if counts[s.sql] > 1 else "")
        if plan.error:
            out += ["", f"{head}; EXPLAIN failed: {plan.error}", "", _fenced(_display_sql(s))]
            continue
        if _key(s) in seen:
            mark = " ⚠" if plan.flags else ""
            repeats.setdefault(seen[_key(s)], []).append(f"{n} ({_ms(s.ms)} ms{mark})")
            continue
        seen[_key(s)] = r.target.path
        head += f", {_ms(plan.execution_ms)} ms explained"
        head += "".join(f" · ⚠ **{f}**" for f in plan.flags)
        head += "".join(f" · {note}" for note in plan.notes)
        shape = (s.sql, *(node.name for node in _nodes(plan.lines)))
        if shape in seen:
            out += ["", f"{head}: the same plan as under `{seen[shape]}`, other parameters."]
            continue
        seen[shape] = r.target.path
        if plan.flags or plan.execution_ms >= FULL_MS:
            plan_text = "\n".join(_trimmed_plan(plan.lines))
            out += ["", head, _fenced(_display_sql(s)), _fenced(plan_text, "text")]
        else:
            sql = _display_sql(s, short=True).replace("`", "'")
            out += ["", f"{head}: {_compact(plan.lines)} — `{sql}`"]
    for origin, items in repeats.items():
        out += ["", f"Also {', '.join(items)}: the same statements as under `{origin}`."]
    return out


def _ms(ms: float) -> str:
    return f"{ms:.2f}" if ms < 1 else f"{ms:.1f}"


def _fenced(text: str, lang: str = "sql") -> str:
    return f"```{lang}\n{text}\n```"


if __name__ == "__main__":
    sys.exit(main())
