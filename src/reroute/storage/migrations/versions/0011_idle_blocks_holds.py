"""stores that do not act, and stock that is not there: idle auto-rejection, blocks, holds, jobs

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:00:00.000000

`facilities` and `rejection_reasons` carry the triggers of 0008: their new columns are added in
place (no rebuild), so the triggers stay. NOT_IN_STOCK holds its product away from the store
for 24 hours by default; the system reason IDLE_TIMEOUT is added.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("facilities", sa.Column("idle_reject_after_minutes", sa.Integer(), nullable=True))
    op.add_column("rejection_reasons", sa.Column("hold_hours", sa.Integer(), nullable=True))
    op.execute("UPDATE rejection_reasons SET hold_hours = 24 WHERE id = 'NOT_IN_STOCK'")
    reasons = sa.table(
        "rejection_reasons",
        sa.column("id", sa.String),
        sa.column("label", sa.String),
        sa.column("inventory_effect", sa.String),
        sa.column("cascade", sa.Boolean),
        sa.column("decline_code", sa.String),
        sa.column("decline_description", sa.String),
        sa.column("sequence", sa.Integer),
        sa.column("active", sa.Boolean),
        sa.column("updated_at", TS),
    )
    present = (
        op.get_bind().execute(sa.select(reasons.c.id).where(reasons.c.id == "IDLE_TIMEOUT")).first()
    )
    if present is None:
        op.bulk_insert(
            reasons,
            [
                {
                    "id": "IDLE_TIMEOUT",
                    "label": "Not accepted in time",
                    "inventory_effect": "none",
                    "cascade": False,
                    "decline_code": "107",
                    "decline_description": "Not accepted in time",
                    "sequence": 1000,
                    "active": True,
                    "updated_at": datetime.now(UTC),
                }
            ],
        )
    op.create_table(
        "product_blocks",
        sa.Column("facility_id", sa.String(64), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("until", TS, nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("reason_id", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("facility_id", "product_id", "kind"),
    )
    op.create_index("ix_product_blocks_product", "product_blocks", ["product_id"])
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_order_items_state_reserved", "order_items", ["state", "reserved_at"])


def downgrade() -> None:
    op.drop_index("ix_order_items_state_reserved", table_name="order_items")
    op.drop_table("job_runs")
    op.drop_index("ix_product_blocks_product", table_name="product_blocks")
    op.drop_table("product_blocks")
    op.execute("DELETE FROM rejection_reasons WHERE id = 'IDLE_TIMEOUT'")
    op.drop_column("rejection_reasons", "hold_hours")  # in place: the triggers of 0008 stay
    op.drop_column("facilities", "idle_reject_after_minutes")
