"""Load through nginx: 60 s of reads at 64 connections (wrk) over public pages and API lists,
then a steady mix of writes (review submissions and helpful votes by many customers). Reads:
no response other than 2xx/3xx, no socket error. Writes: no 5xx, and every write the client was
told succeeded is in the database. wrk's report is kept in var/cluster/load-*.txt (the figures
in docs/performance.md, "Several instances", come from there)."""

import os
import re
import subprocess
import threading
import time
import uuid
from collections import Counter

import requests

from tests.cluster.conftest import (
    DIR,
    SITE,
    client_from,
    next_address,
    sql,
    submit_review,
)

WRK = "/usr/bin/wrk"
LUA = os.path.join(os.path.dirname(__file__), "read_mix.lua")
DURATION = int(os.environ.get("CLUSTER_LOAD_SECONDS", "60"))
CONNECTIONS = 64
LUA_SITE = ["-s", LUA, SITE]


def read_paths() -> list[str]:
    popular, small = (
        row[0]
        for row in sql(
            "(SELECT slug FROM reviews_provider ORDER BY review_count DESC LIMIT 1)"
            " UNION ALL (SELECT slug FROM reviews_provider WHERE review_count BETWEEN 1 AND 5"
            " ORDER BY id LIMIT 1)"
        )
    )
    category, town = sql(
        "SELECT c.slug, p.town FROM reviews_provider p JOIN reviews_category c"
        " ON c.id = p.category_id ORDER BY p.review_count DESC LIMIT 1"
    )[0]
    return [
        "/",
        "/providers/",
        "/providers/?q=dental",
        "/providers/?q=surgery",
        f"/providers/?category={category}",
        f"/providers/?q={town}",
        f"/providers/{popular}/",
        f"/providers/{popular}/?page=2",
        f"/providers/{popular}/?ordering=-rating",
        f"/providers/{small}/",
        "/stats/",
        "/api/v1/providers/",
        "/api/v1/providers/?ordering=-review_count",
        f"/api/v1/providers/?search={town}",
        f"/api/v1/providers/{popular}/",
        f"/api/v1/providers/{popular}/reviews/",
        f"/api/v1/providers/{small}/reviews/?ordering=-rating",
        "/api/v1/categories/",
        "/health/",
    ]


def parse_wrk(report: str) -> dict:
    figures = {
        "requests": int(re.search(r"(\d+) requests in", report).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1)),
        "p50": re.search(r"^\s+50%\s+(\S+)", report, re.MULTILINE).group(1),
        "p99": re.search(r"^\s+99%\s+(\S+)", report, re.MULTILINE).group(1),
    }
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    figures["non_2xx_3xx"] = int(bad.group(1)) if bad else 0
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report
    )
    figures["socket_errors"] = sum(map(int, errors.groups())) if errors else 0
    return figures


def test_sixty_seconds_of_reads_at_64_connections_through_nginx(customers, tmp_path):
    paths = read_paths()
    for path in paths:  # each path answers as it should, before the load
        headers = {"Authorization": f"Token {customers[0][2]}"} if path.startswith("/api/") else {}
        assert requests.get(f"{SITE}{path}", headers=headers, timeout=10).status_code == 200, path
    paths_file = tmp_path / "paths.txt"
    paths_file.write_text("\n".join(paths) + "\n")

    report = subprocess.run(
        [WRK, "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--timeout=10s", "--latency", *LUA_SITE],
        capture_output=True,
        text=True,
        timeout=DURATION + 60,
        env={**os.environ, "READ_MIX_PATHS": str(paths_file), "READ_MIX_TOKEN": customers[0][2]},
        check=True,
    ).stdout
    (DIR / "load-reads.txt").write_text(
        f"{time.strftime('%Y-%m-%d %H:%M:%S')} reads, {len(paths)} paths:\n"
        + "\n".join(paths)
        + "\n\n"
        + report
    )
    figures = parse_wrk(report)
    assert figures["requests"] > DURATION * 20, report  # the load was applied
    assert figures["non_2xx_3xx"] == 0, report
    assert figures["socket_errors"] == 0, report


WRITE_SECONDS = int(os.environ.get("CLUSTER_WRITE_SECONDS", "30"))
REVIEWERS = slice(161, 401)  # 240 customers, at most 4 reviews each (the limit is 5 an hour)
VOTERS = slice(401, 595)


def test_a_steady_write_mix_loses_nothing_and_fails_nothing(customers, provider_slugs):
    run = uuid.uuid4().hex[:8]
    published = [row[0] for row in sql("SELECT id FROM reviews_review WHERE status = 'published'")]
    reviewers, voters = customers[REVIEWERS], customers[VOTERS]
    lock = threading.Lock()
    outcomes = Counter()
    reviews_acknowledged = {}  # title -> id
    votes_acknowledged = set()  # (user id, review id)
    deadline = time.monotonic() + WRITE_SECONDS

    def paced(k: int, every: float, work) -> None:
        """Calls work(n) every `every` seconds until the deadline: a steady rate, not a flood."""
        n, start = 0, time.monotonic() + k * every / 8
        while (due := start + n * every) < deadline:
            time.sleep(max(0.0, due - time.monotonic()))
            work(n)
            n += 1

    def review_writer(k: int) -> None:
        def write(n: int) -> None:
            user = reviewers[(k + 8 * n) % len(reviewers)]
            slug = provider_slugs[(k * 31 + n * 17) % len(provider_slugs)]
            title = f"mix-{run}-{k}-{n}"
            try:
                response = submit_review(user[2], slug, title)
                status = response.status_code
            except requests.RequestException:
                status = "connection error"
            with lock:
                outcomes[("review", status)] += 1
                if status == 201:
                    reviews_acknowledged[title] = response.json()["id"]

        paced(k, 1.0, write)

    def voter(k: int) -> None:
        def vote(n: int) -> None:
            user_id, _, token = voters[(k + 8 * n) % len(voters)]
            review = published[(k * 101 + n * 7) % len(published)]
            try:
                with client_from(next_address()) as client:
                    response = client.post(
                        f"{SITE}/api/v1/reviews/{review}/helpful/",
                        headers={"Authorization": f"Token {token}"},
                        timeout=30,
                    )
                status = response.status_code
            except requests.RequestException:
                status = "connection error"
            with lock:
                outcomes[("vote", status)] += 1
                if status == 200 and response.json()["voted"]:
                    votes_acknowledged.add((user_id, review))

        paced(k, 0.25, vote)

    threads = [threading.Thread(target=review_writer, args=(k,)) for k in range(8)]
    threads += [threading.Thread(target=voter, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WRITE_SECONDS + 120)
    assert not any(thread.is_alive() for thread in threads)
    (DIR / "load-writes.txt").write_text(
        f"{time.strftime('%Y-%m-%d %H:%M:%S')} writes for {WRITE_SECONDS} s: "
        + ", ".join(
            f"{kind} {status}: {count}"
            for (kind, status), count in sorted(outcomes.items(), key=str)
        )
        + "\n"
    )

    # Nothing failed: every write was done (the load stays under each customer's limits).
    assert set(outcomes) == {("review", 201), ("vote", 200)}, outcomes
    # The rate held (each writer falls behind only if its requests take over a second).
    assert len(reviews_acknowledged) >= WRITE_SECONDS * 8 * 0.5
    stored = dict(sql("SELECT title, id FROM reviews_review WHERE title LIKE %s", [f"mix-{run}-%"]))
    assert stored == reviews_acknowledged
    voter_ids = [user_id for user_id, _, _ in voters]
    votes = set(
        sql(
            "SELECT user_id, review_id FROM reviews_helpfulvote WHERE user_id = ANY(%s)",
            [voter_ids],
        )
    )
    assert votes == votes_acknowledged
