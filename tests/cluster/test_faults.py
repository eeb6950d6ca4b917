"""Faults under load: an app instance killed, PostgreSQL restarted, the task worker killed in the
middle of sending. What a client was told was done is done, exactly once; what was in flight
may fail; the cluster recovers by itself (the worker with the requeue job systemd runs)."""

import re
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import requests

from tests.cluster.conftest import (
    INSTANCE,
    MAIL,
    SITE,
    client_from,
    cluster_script,
    healthy,
    kill_group,
    manage,
    message_id,
    messages_to,
    next_address,
    password_reset,
    pid_of,
    sql,
    submit_review,
    wait_for,
)

KILL_USERS = slice(1, 161)  # customers[0] is the cache test's; 20 users for each of 8 writers
WRITERS = 8
PG_CTLCLUSTER = "/usr/bin/pg_ctlcluster"


def test_killing_an_instance_mid_load_loses_no_acknowledged_write(customers, provider_slugs):
    run = uuid.uuid4().hex[:8]
    results = []  # (started, status, title, review id or None)
    lock = threading.Lock()
    killed_at = []

    def writer(k: int) -> None:
        users = customers[KILL_USERS][k * 20 : (k + 1) * 20]
        for round_ in range(4):  # at most 4 reviews each: within the 5-an-hour limit
            for u, (_, _, token) in enumerate(users):
                slug = provider_slugs[(k * 97 + u * 13 + round_ * 7) % len(provider_slugs)]
                title = f"kill-{run}-{k}-{round_}-{u}"
                started = time.monotonic()
                try:
                    response = submit_review(token, slug, title)
                    status = response.status_code
                    review = response.json().get("id") if status == 201 else None
                except requests.RequestException:
                    status, review = "connection error", None
                with lock:
                    results.append((started, status, title, review))
                time.sleep(0.05)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(WRITERS)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    killed_at.append(time.monotonic())
    kill_group("gunicorn-a")  # the master and its workers, mid-request
    for thread in threads:
        thread.join(timeout=180)
    try:
        assert not any(thread.is_alive() for thread in threads)
        acknowledged = {title: review for _, status, title, review in results if status == 201}
        failed = [(status, title) for _, status, title, _ in results if status != 201]
        after_kill = [row for row in results if row[0] > killed_at[0] + 1]

        # Only what was in flight at the kill failed (a 502 from nginx), at most one each.
        assert len(failed) <= WRITERS, failed
        assert all(status == 502 for status, _ in failed), failed
        # nginx kept serving, from instance b: everything sent after the kill went through.
        assert len(after_kill) > 100
        assert all(status == 201 for _, status, _, _ in after_kill)
        # Every acknowledged review is there, exactly once, with the id the client was given.
        stored = sql(
            "SELECT title, id, count(*) OVER (PARTITION BY title) FROM reviews_review"
            " WHERE title LIKE %s",
            [f"kill-{run}-%"],
        )
        assert all(copies == 1 for _, _, copies in stored)
        assert {title: pk for title, pk, _ in stored if title in acknowledged} == acknowledged
        # A failed request wrote nothing, or its review (committed before the answer was lost).
        assert len(stored) <= len(acknowledged) + len(failed)
    finally:
        cluster_script("restart", "a")
    assert healthy(INSTANCE["a"])


def test_restarting_postgresql_fails_only_requests_in_flight_and_recovers(customers):
    """Readers through nginx the whole time; PostgreSQL restarted (fast shutdown) under them.
    A request fails only if it was running while the database was down; from the moment it
    answers again, every request succeeds (persistent connections are checked before reuse)."""
    token = customers[0][2]
    paths = ["/health/", "/api/v1/providers/?ordering=name", "/api/v1/categories/", "/stats/"]
    results = []  # (started, finished, status)
    lock = threading.Lock()
    stop = threading.Event()

    def reader(k: int) -> None:
        with client_from(next_address()) as client:
            n = k
            while not stop.is_set():
                path = paths[n % len(paths)]
                n += 1
                started = time.monotonic()
                try:
                    status = client.get(
                        f"{SITE}{path}", headers={"Authorization": f"Token {token}"}, timeout=15
                    ).status_code
                except requests.RequestException:
                    status = 0
                with lock:
                    results.append((started, time.monotonic(), status))
                time.sleep(0.02)

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    version = next(Path("/etc/postgresql").iterdir()).name
    down = time.monotonic()
    subprocess.run(
        [PG_CTLCLUSTER, "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
        check=True,
        timeout=60,
    )
    wait_for(
        lambda: (
            subprocess.run(["/usr/bin/pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode
            == 0
        ),
        timeout=30,
        interval=0.05,
        what="PostgreSQL answering again",
    )
    up = time.monotonic()
    time.sleep(12)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    failures = [(started - down, status) for started, _, status in results if status != 200]
    before = [row for row in results if row[1] < down]
    recovered = [row for row in results if row[0] >= up]
    assert len(before) > 20 and all(status == 200 for *_, status in before)
    # Failures are requests that were running while the database was away, answered (a 5xx,
    # never a hang or a dropped connection)...
    assert all(status in (500, 502, 503) for _, status in failures), failures
    late = [(round(offset, 2), status) for offset, status in failures if offset > up - down]
    assert not late, (up - down, sorted(late))
    # ...and everything started once it answered again succeeded: recovery well within 10 s.
    assert len(recovered) > 50
    assert all(status == 200 for *_, status in recovered), Counter(s for *_, s in recovered)

    # The worker rode it out too: a queued email still goes.
    email = customers[-1][1]
    assert password_reset(email) == 302
    wait_for(lambda: messages_to(email), timeout=30, what="an email after the restart")


def test_a_worker_killed_mid_send_sends_each_email_once_after_restart(customers):
    """The sink holds each message 4 s before accepting it; the worker is killed while it waits.
    After the worker is started again and the requeue job has run (systemd's timer does it
    every minute), every email has gone, and a message sent twice (the one interrupted after
    the sink took it) is sent with the same Message-ID: one message to any mail system."""
    recipients = [email for _, email, _ in customers[-5:-1]]
    slow = MAIL / "slow"
    slow.write_text("4")
    try:
        for email in recipients:
            assert password_reset(email) == 302

        def sending():
            return sql(
                'SELECT key FROM portal_emaildelivery WHERE "to" = ANY(%s) AND attempts = 1'
                " AND status = 'pending'",
                [recipients],
            )

        interrupted = wait_for(sending, timeout=30, interval=0.1, what="a send under way")[0][0]
        kill_group("worker")
    finally:
        slow.unlink(missing_ok=True)
    worker_before = pid_of("worker")
    cluster_script("restart", "worker")
    assert pid_of("worker") != worker_before
    time.sleep(1.5)
    requeued = manage("tasks_requeue_stale", "--older-than", "1")
    # The killed send, and any other task a worker died in (one that ran when PostgreSQL went).
    assert re.search(r"requeued [1-9]\d*,", requeued), requeued

    def all_sent():
        rows = sql(
            'SELECT "to", status, attempts FROM portal_emaildelivery WHERE "to" = ANY(%s)',
            [recipients],
        )
        return rows if len(rows) == 4 and all(row[1] == "sent" for row in rows) else None

    wait_for(all_sent, timeout=60, what="every email sent")
    for email in recipients:
        received = messages_to(email)
        assert received, f"nothing reached {email}"
        assert len({message_id(message) for message in received}) == 1, received
    assert sql(
        "SELECT status, attempts FROM portal_emaildelivery WHERE key = %s", [interrupted]
    ) == [("sent", 2)]
