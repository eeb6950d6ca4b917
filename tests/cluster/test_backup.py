"""The backup drill of docs/deploy.md ("Backups and restore"): pg_dump of the cluster's live
database, pg_restore into a fresh database, and the restored copy holds the same rows and the
same figures. Runs last, so the dump holds what the other cluster tests wrote."""

import re
import subprocess
import uuid

import psycopg
import psycopg.sql
import pytest

from tests.cluster.conftest import DB, PG, manage

PG_DUMP = "/usr/bin/pg_dump"
PG_RESTORE = "/usr/bin/pg_restore"

# Figures a restore must keep, beside every table's row count.
AGGREGATES = {
    "reviews by status": "SELECT status, count(*) FROM reviews_review GROUP BY 1 ORDER BY 1",
    "published stars": "SELECT sum(rating), count(*) FROM reviews_review"
    " WHERE status = 'published'",
    "provider figures": "SELECT sum(review_count), sum(rating_sum), round(sum(score)::numeric, 6)"
    " FROM reviews_provider",
    "helpful votes": "SELECT sum(helpful_count) FROM reviews_review",
    "tickets by status": "SELECT status, count(*) FROM responses_ticket GROUP BY 1 ORDER BY 1",
    "emails by status": "SELECT status, count(*) FROM portal_emaildelivery GROUP BY 1 ORDER BY 1",
    "sequences": "SELECT sequencename, last_value FROM pg_sequences ORDER BY 1",
}


def snapshot_figures(connection) -> dict:
    tables = connection.execute(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
    ).fetchall()
    figures = {
        f"rows in {name}": connection.execute(
            psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.Identifier(name))
        ).fetchone()[0]
        for (name,) in tables
    }
    for label, query in AGGREGATES.items():
        figures[label] = connection.execute(query).fetchall()
    return figures


@pytest.fixture
def restore_db():
    name = f"heard_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_dump_restored_into_a_fresh_database_has_the_same_rows_and_figures(tmp_path, restore_db):
    dump = tmp_path / "heard.dump"
    # The dump and the figures it is checked against come from one snapshot of the live
    # database (the worker and the timers go on writing).
    with psycopg.connect(f"{PG}/{DB}") as source:
        source.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = source.execute("SELECT pg_export_snapshot()").fetchone()[0]
        subprocess.run(
            [PG_DUMP, "--format=custom", f"--snapshot={snapshot}", f"--file={dump}", f"{PG}/{DB}"],
            check=True,
            timeout=300,
        )
        expected = snapshot_figures(source)
        source.rollback()
    assert expected["rows in reviews_review"] > 100 and expected["rows in accounts_user"] > 600

    subprocess.run(
        [PG_RESTORE, "--no-owner", "--exit-on-error", f"--dbname={PG}/{restore_db}", str(dump)],
        check=True,
        timeout=300,
    )
    with psycopg.connect(f"{PG}/{restore_db}") as restored:
        assert snapshot_figures(restored) == expected

    # Heard itself reads the copy, and finds every stored figure equal to a recount.
    check = manage(
        "recompute_provider_stats", "--check", env={"DATABASE_URL": f"{PG}/{restore_db}"}
    )
    assert re.search(r"All \d+ providers agree", check), check
