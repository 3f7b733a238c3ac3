"""integrator contract: order sync, platform ids and addresses, tracking, key rotation, tokens

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 20:00:00.000000

Order and item ids widen to 255 characters, as commerce platforms use them. SQLite does not
enforce VARCHAR lengths, so the widening is done on PostgreSQL only: rebuilding the order
tables on SQLite would gain nothing. `webhooks` and `api_tokens` carry the triggers of 0008;
their new columns are added in place (no rebuild), so the triggers stay.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: (table, column) holding an order or item id.
KEYS = (
    ("orders", "id"),
    ("order_items", "order_id"),
    ("order_items", "item_id"),
    ("shipments", "order_id"),
    ("order_history", "order_id"),
    ("order_history", "item_id"),
    ("rejections", "order_id"),
    ("rejections", "item_id"),
    ("item_exclusions", "order_id"),
    ("item_exclusions", "item_id"),
    ("outbox_events", "order_id"),
    ("deliveries", "order_id"),
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for table, column in KEYS:
            op.alter_column(table, column, type_=sa.String(255), existing_type=sa.String(64))
        op.alter_column(
            "idempotency_keys", "path", type_=sa.String(2000), existing_type=sa.String(500)
        )
        op.alter_column(
            "inventory_ledger", "reference", type_=sa.String(600), existing_type=sa.String(200)
        )
    op.add_column("orders", sa.Column("updated_at", TS, nullable=True))
    op.execute("UPDATE orders SET updated_at = created_at")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(255), nullable=True))
        batch_op.add_column(sa.Column("channel", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tags", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("attributes", sa.JSON(), nullable=True))
    if postgres:
        op.alter_column("orders", "updated_at", nullable=False, existing_type=TS)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_updated", ["updated_at", "id"], unique=False)
        batch_op.create_index("ix_orders_customer_email", ["customer_email"], unique=False)
        batch_op.create_index("ix_orders_external_id", ["external_id"], unique=False)
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_price", sa.Numeric(18, 4), nullable=True))
        batch_op.add_column(sa.Column("currency", sa.String(3), nullable=True))
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carrier", sa.String(100), nullable=True))
        batch_op.add_column(sa.Column("tracking_number", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("tracking_url", sa.String(2000), nullable=True))
        batch_op.create_index("ix_shipments_updated", ["updated_at", "id"], unique=False)
    op.add_column("webhooks", sa.Column("previous_secret", sa.String(200), nullable=True))
    op.add_column("webhooks", sa.Column("previous_secret_until", TS, nullable=True))
    op.add_column("api_tokens", sa.Column("expires_at", TS, nullable=True))
    op.create_table(
        "token_uses",
        sa.Column("token_id", BigId, nullable=False),
        sa.Column("last_used_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_tokens.id"], name=op.f("fk_token_uses_token_id_api_tokens")
        ),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_token_uses")),
    )
    op.create_table(
        "sync_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("micros", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_clock")),
    )
    op.execute("INSERT INTO sync_clock (id, micros) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("sync_clock")
    op.drop_table("token_uses")
    op.drop_column("api_tokens", "expires_at")
    op.drop_column("webhooks", "previous_secret_until")
    op.drop_column("webhooks", "previous_secret")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index("ix_shipments_updated")
        for column in ("tracking_url", "tracking_number", "carrier"):
            batch_op.drop_column(column)
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_column("currency")
        batch_op.drop_column("unit_price")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for index in ("ix_orders_external_id", "ix_orders_customer_email", "ix_orders_updated"):
            batch_op.drop_index(index)
        for column in ("attributes", "tags", "notes", "channel", "external_id", "updated_at"):
            batch_op.drop_column(column)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "idempotency_keys", "path", type_=sa.String(500), existing_type=sa.String(2000)
        )
        op.alter_column(
            "inventory_ledger", "reference", type_=sa.String(200), existing_type=sa.String(600)
        )
        for table, column in KEYS:
            op.alter_column(table, column, type_=sa.String(64), existing_type=sa.String(255))
