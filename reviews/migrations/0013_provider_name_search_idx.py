"""PostgreSQL only: a full-text index of providers' names alone, for the directory's first
group of results (names with every word, reviews/search.py). The expression is the one
Django writes for SearchVector("name", config="english"), so the planner matches it."""

from django.db import migrations

FORWARD = [
    "CREATE INDEX IF NOT EXISTS provider_name_fts_idx ON reviews_provider USING gin "
    "(to_tsvector('english'::regconfig, COALESCE(name, ''::character varying)::text))",
    # Statistics for the new expression: without them the planner guesses that a word is in
    # 2% of names and walks the score index through all 100,000 providers for a rare one.
    "ANALYZE reviews_provider",
]
BACKWARD = ["DROP INDEX IF EXISTS provider_name_fts_idx"]


def _run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("reviews", "0012_review_list_indexes_end_in_id")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
