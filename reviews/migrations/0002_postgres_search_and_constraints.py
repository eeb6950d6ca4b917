"""PostgreSQL-only parts of the schema: full-text search vector and trigram indexes for
provider search, and the database's own "one live review per customer per provider per 12
months" rule. On SQLite this migration does nothing: search falls back to LIKE, and SQLite's
IMMEDIATE transactions serialise submissions so the service check alone holds."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    # Weighted document: name (A) > town and postcode (B) > description (C). Categories are
    # matched separately (a small table) and weighted like B in the selector.
    """
    ALTER TABLE reviews_provider ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(name, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(town, '') || ' ' || coalesce(postcode, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(description, '')), 'C')
    ) STORED
    """,
    "CREATE INDEX provider_search_vector_idx ON reviews_provider USING gin (search_vector)",
    "CREATE INDEX provider_name_trgm_idx ON reviews_provider USING gin (name gin_trgm_ops)",
    "CREATE INDEX provider_town_trgm_idx ON reviews_provider USING gin (town gin_trgm_ops)",
    "CREATE INDEX category_name_trgm_idx ON reviews_category USING gin (name gin_trgm_ops)",
    # A fixed 8,760-hour window (365 days) is independent of time zones, so it may be declared
    # immutable and used in a constraint.
    """
    CREATE FUNCTION heard_review_window(timestamptz) RETURNS tstzrange
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT tstzrange($1, $1 + interval '8760 hours') $$
    """,
    """
    ALTER TABLE reviews_review ADD CONSTRAINT review_one_live_per_author_provider_year
    EXCLUDE USING gist (
        author_id WITH =, provider_id WITH =, heard_review_window(submitted_at) WITH &&
    ) WHERE (status IN ('pending', 'published') AND author_id IS NOT NULL)
    """,
]

BACKWARD = [
    "ALTER TABLE reviews_review DROP CONSTRAINT IF EXISTS review_one_live_per_author_provider_year",
    "DROP FUNCTION IF EXISTS heard_review_window(timestamptz)",
    "DROP INDEX IF EXISTS category_name_trgm_idx",
    "DROP INDEX IF EXISTS provider_town_trgm_idx",
    "DROP INDEX IF EXISTS provider_name_trgm_idx",
    "DROP INDEX IF EXISTS provider_search_vector_idx",
    "ALTER TABLE reviews_provider DROP COLUMN IF EXISTS search_vector",
]


def _run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
