"""reference version: one counter every change to near-static data moves

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09 10:00:00.000000

Triggers bump the counter on each insert, update and delete of the tables listed below, from
any process and any write path. On SQLite a table rebuilt by `batch_alter_table` loses its
triggers: a later migration that rebuilds one of these tables must create its triggers again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: Written out rather than imported: a migration keeps the list as it was when it ran.
TABLES = (
    "settings",
    "rejection_reasons",
    "routing_rules",
    "webhooks",
    "facilities",
    "products",
    "api_tokens",
)
OPERATIONS = ("insert", "update", "delete")

# An upsert rather than a plain update: the row comes back if someone emptied the table.
BUMP = (
    "INSERT INTO reference_version (id, version) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET version = reference_version.version + 1"
)


def upgrade() -> None:
    op.create_table(
        "reference_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_version")),
    )
    op.execute("INSERT INTO reference_version (id, version) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION reference_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table in TABLES:
            # Once per statement: a bulk import moves the counter once, not once a row.
            op.execute(
                f"CREATE TRIGGER reference_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION reference_changed()"
            )
        return
    for table in TABLES:
        for operation in OPERATIONS:
            op.execute(
                f"CREATE TRIGGER reference_changed_{table}_{operation} "
                f"AFTER {operation.upper()} ON {table} BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER reference_changed ON {table}")
        op.execute("DROP FUNCTION reference_changed()")
    else:
        for table in TABLES:
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER reference_changed_{table}_{operation}")
    op.drop_table("reference_version")
