"""rule versions: every routing rules document a save replaced, so it can be compared and restored

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 06:00:00.000000

A new table only; no trigger of 0008 is needed: routing reads the document in force, never
its versions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "routing_rule_versions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("was_default", sa.Boolean(), nullable=False),
        sa.Column("written_by", sa.String(200), nullable=True),
        sa.Column("written_at", TS, nullable=True),
        sa.Column("replaced_by", sa.String(200), nullable=False),
        sa.Column("replaced_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rule_versions")),
    )


def downgrade() -> None:
    op.drop_table("routing_rule_versions")
