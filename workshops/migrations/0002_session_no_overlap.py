"""Sessions of one workshop never overlap, enforced by the database itself.

PostgreSQL says it with an exclusion constraint over time ranges; SQLite (the embedded default)
has none, so triggers refuse the same rows there. Both raise IntegrityError for an overlap.
"""

from __future__ import annotations

from django.db import migrations

TABLE = "workshops_workshopsession"

OVERLAP_SQL = {
    "postgresql": {
        "forwards": [
            "CREATE EXTENSION IF NOT EXISTS btree_gist",
            f"""ALTER TABLE {TABLE} ADD CONSTRAINT session_no_overlap
                EXCLUDE USING gist (workshop_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)""",
        ],
        "backwards": [f"ALTER TABLE {TABLE} DROP CONSTRAINT session_no_overlap"],
    },
    "sqlite": {
        "forwards": [
            f"""CREATE TRIGGER session_no_overlap_{event.lower()} BEFORE {event} ON {TABLE}
                WHEN EXISTS (
                    SELECT 1 FROM {TABLE} AS other
                    WHERE other.workshop_id = NEW.workshop_id
                      AND other.id IS NOT NEW.id
                      AND other.starts_at < NEW.ends_at
                      AND NEW.starts_at < other.ends_at
                )
                BEGIN SELECT RAISE(ABORT, 'session_no_overlap: sessions of one workshop may not overlap'); END"""
            for event in ("INSERT", "UPDATE")
        ],
        "backwards": [
            "DROP TRIGGER IF EXISTS session_no_overlap_insert",
            "DROP TRIGGER IF EXISTS session_no_overlap_update",
        ],
    },
}


def _run(direction: str):
    def run(apps, schema_editor):
        for statement in OVERLAP_SQL[schema_editor.connection.vendor][direction]:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("workshops", "0001_initial")]

    operations = [migrations.RunPython(_run("forwards"), _run("backwards"))]
