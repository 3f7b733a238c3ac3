"""The schema as SQLAlchemy Core tables. Migrations in `migrations/versions` create it;
a test checks that the two agree."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(64)
#: Order and item ids, as long as commerce platforms make them (`gid://shopify/Order/123`).
KEY = String(255)
TS = DateTime(timezone=True)
# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")

facilities = Table(
    "facilities",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("external_location_id", String(64), nullable=False),
    Column("fulfiller_id", String(64), nullable=False),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("capabilities", JSON, nullable=False),
    Column("daily_capacity", Integer),
    Column("safety_stock", Integer, nullable=False, default=0),
    Column("sequence", Integer),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    #: Minutes an item may wait here unstarted before it is taken back; None: the setting's.
    Column("idle_reject_after_minutes", Integer),
)

products = Table(
    "products",
    metadata,
    Column("id", ID, primary_key=True),
    Column("sku", String(64), nullable=False, index=True),
    Column("upc", String(64), nullable=False, index=True),
    Column("part_number", String(64), nullable=False),
    Column("name", String(300), nullable=False),
    Column("image_url", String(1000)),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

inventory_levels = Table(
    "inventory_levels",
    metadata,
    Column("facility_id", ID, ForeignKey("facilities.id"), primary_key=True),
    Column("product_id", ID, ForeignKey("products.id"), primary_key=True),
    Column("quantity_on_hand", Integer, nullable=False),
    Column("available_to_promise", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_inventory_levels_product", "product_id", "facility_id"),
    Index("ix_inventory_levels_updated", "updated_at"),
)

inventory_ledger = Table(
    "inventory_ledger",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("facility_id", ID, nullable=False),
    Column("product_id", ID, nullable=False),
    Column("qoh_diff", Integer, nullable=False),
    Column("atp_diff", Integer, nullable=False),
    Column("reserved_diff", Integer, nullable=False),
    Column("cause", String(32), nullable=False),
    # "order/item" for a reservation: room for two 255-character ids.
    Column("reference", String(600), nullable=False),
    Column("created_at", TS, nullable=False),
    ForeignKeyConstraint(
        ["facility_id", "product_id"],
        ["inventory_levels.facility_id", "inventory_levels.product_id"],
        name="fk_inventory_ledger_level",
    ),
    Index("ix_inventory_ledger_level", "facility_id", "product_id", "id"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", KEY, primary_key=True),
    Column("catalog_id", String(64), nullable=False),
    Column("customer_name", String(200), nullable=False),
    Column("customer_email", String(320), nullable=False),
    Column("shipping_method", String(16), nullable=False),
    Column("pickup_facility_id", ID, ForeignKey("facilities.id")),
    Column("ship_complete", Boolean, nullable=False),
    Column("inventory_based", Boolean, nullable=False),
    Column("priority", Integer, nullable=False, default=0),
    Column("ship_to", JSON, nullable=False),
    Column("ship_to_latitude", Float),
    Column("ship_to_longitude", Float),
    Column("body_hash", String(64), nullable=False),
    Column("external_id", String(255)),
    Column("channel", String(64)),
    Column("notes", Text),
    Column("tags", JSON),
    Column("attributes", JSON),
    Column("created_at", TS, nullable=False),
    # Moves with every change to the order, its items or shipments, in commit order
    # (`sync_clock`), so that a poll by update time misses nothing.
    Column("updated_at", TS, nullable=False),
    Index("ix_orders_customer_name", "customer_name"),
    Index("ix_orders_customer_email", "customer_email"),
    Index("ix_orders_external_id", "external_id"),
    Index("ix_orders_updated", "updated_at", "id"),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", KEY, ForeignKey("orders.id"), nullable=False, index=True),
    Column("facility_id", ID, ForeignKey("facilities.id"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("carrier", String(100)),
    Column("tracking_number", String(200)),
    Column("tracking_url", String(2000)),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_shipments_facility_state", "facility_id", "state", "id"),
    Index("ix_shipments_updated", "updated_at", "id"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("order_id", KEY, ForeignKey("orders.id"), primary_key=True),
    Column("item_id", KEY, primary_key=True),
    Column("line", Integer, nullable=False),
    Column("product_id", ID, ForeignKey("products.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Numeric(18, 4)),
    Column("currency", String(3)),
    Column("state", String(16), nullable=False),
    Column("facility_id", ID, ForeignKey("facilities.id")),
    Column("shipment_id", BigId, ForeignKey("shipments.id")),
    # When the item's current reservation was made: a shortage takes back the newest first.
    Column("reserved_at", TS),
    Column("updated_at", TS, nullable=False),
    Index("ix_order_items_state", "state", "order_id"),
    Index("ix_order_items_facility_product_state", "facility_id", "product_id", "state"),
    Index("ix_order_items_shipment", "shipment_id"),
)

order_history = Table(
    "order_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", KEY, ForeignKey("orders.id"), nullable=False),
    Column("event", String(32), nullable=False),
    Column("item_id", KEY),
    Column("shipment_id", BigId),
    Column("from_state", String(16)),
    Column("to_state", String(16)),
    Column("facility_id", ID),
    Column("reason_id", ID),
    Column("actor", String(200), nullable=False),
    Column("request_id", String(64)),
    Column("note", Text),
    Column("created_at", TS, nullable=False),
    Index("ix_order_history_order", "order_id", "id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("facilities", JSON, nullable=False),
    Column("label", String(200), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS),
    Column("revoked_at", TS),
    UniqueConstraint("token_hash"),
)

#: When each token was last used, apart from `api_tokens`: a use must not move the reference
#: version (migration 0008 triggers on `api_tokens`), or every request would empty the caches.
token_uses = Table(
    "token_uses",
    metadata,
    Column("token_id", BigId, ForeignKey("api_tokens.id"), primary_key=True),
    Column("last_used_at", TS, nullable=False),
)

#: One row (id 1): the last microsecond stamp given to a changed order. Taken under its row lock
#: at the end of a transaction, so stamps increase in commit order, across processes.
sync_clock = Table(
    "sync_clock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("micros", BigInteger, nullable=False),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", TS, nullable=False),
)

# One row per key and caller: written (state "in_progress") before the work, so the key takes
# effect once; then "answered" with the answer, or "withheld" without the body of an answer
# that held a secret. Rows past `expires_at` count as absent.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", String(400), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("claim_id", String(32), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(2000), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("status_code", Integer),
    Column("content_type", String(200)),
    Column("response_body", LargeBinary),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Index("ix_idempotency_keys_expires", "expires_at"),
)

routing_rules = Table(
    "routing_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("document", JSON, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", TS, nullable=False),
)

# Each rules document a save replaced (the defaults included), newest last: who wrote it and
# when, who replaced it and when. Only the newest ones are kept (services.routing_rules).
routing_rule_versions = Table(
    "routing_rule_versions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("document", JSON, nullable=False),
    Column("was_default", Boolean, nullable=False),
    Column("written_by", String(200)),
    Column("written_at", TS),
    Column("replaced_by", String(200), nullable=False),
    Column("replaced_at", TS, nullable=False),
)

item_exclusions = Table(
    "item_exclusions",
    metadata,
    Column("order_id", KEY, primary_key=True),
    Column("item_id", KEY, primary_key=True),
    Column("facility_id", ID, primary_key=True),
    Column("created_at", TS, nullable=False),
)

# Per facility and UTC day: shipments given (daily capacity), items assigned and items rejected
# (acceptance). Counters kept as routing and rejection happen, so neither reads history.
facility_days = Table(
    "facility_days",
    metadata,
    Column("facility_id", ID, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("shipments", Integer, nullable=False, default=0),
    Column("assignments", Integer, nullable=False, default=0),
    Column("rejections", Integer, nullable=False, default=0),
)

Index("ix_order_items_product_state", order_items.c.product_id, order_items.c.state)
#: The idle sweep: items ready (or in progress) since before a cutoff.
Index("ix_order_items_state_reserved", order_items.c.state, order_items.c.reserved_at)

rejection_reasons = Table(
    "rejection_reasons",
    metadata,
    Column("id", ID, primary_key=True),
    Column("label", String(200), nullable=False),
    Column("inventory_effect", String(32), nullable=False),
    Column("cascade", Boolean, nullable=False),
    Column("decline_code", String(16), nullable=False),
    Column("decline_description", String(300), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("updated_at", TS, nullable=False),
    #: After a rejection with this reason, routing keeps the product away from the facility
    #: this many hours (a physical count lifts it); None: no hold.
    Column("hold_hours", Integer),
)

rejections = Table(
    "rejections",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", KEY, ForeignKey("orders.id"), nullable=False),
    Column("item_id", KEY, nullable=False),
    Column("shipment_id", BigId, ForeignKey("shipments.id"), nullable=False),
    Column("facility_id", ID, ForeignKey("facilities.id"), nullable=False),
    Column("product_id", ID, ForeignKey("products.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("reason_id", ID),
    Column("comment", Text),
    Column("cascaded", Boolean, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("request_id", String(64)),
    Column("created_at", TS, nullable=False),
    Index("ix_rejections_created", "created_at"),
    Index("ix_rejections_facility", "facility_id", "created_at"),
    Index("ix_rejections_product", "product_id", "created_at"),
    Index("ix_rejections_order", "order_id", "item_id"),
)

users = Table(
    "users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("role", String(16), nullable=False),
    Column("facilities", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", TS),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    UniqueConstraint("email"),
)

#: A signed-in session: the cookie carries a random id, only its SHA-256 is kept here, so a read
#: of this table signs no one in. Ending it (sign-out, deactivation, a new password) refuses the
#: cookie on every process at its next request.
user_sessions = Table(
    "user_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("ended_at", TS),
    Index("ix_user_sessions_user", "user_id"),
)

outbox_events = Table(
    "outbox_events",
    metadata,
    # The id is the event feed's cursor: events are read in the order they were written.
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("order_id", KEY, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("event_id"),
    Index("ix_outbox_events_order", "order_id", "id"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", ID, primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("secret", String(200), nullable=False),
    # After a rotation the old secret signs beside the new one until `previous_secret_until`.
    Column("previous_secret", String(200)),
    Column("previous_secret_until", TS),
    Column("active", Boolean, nullable=False),
    Column("disabled_reason", String(300)),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("deleted_at", TS),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", BigId, ForeignKey("outbox_events.id"), nullable=False),
    Column("webhook_id", ID, ForeignKey("webhooks.id"), nullable=False),
    # Events of one order reach one endpoint in order: (webhook_id, order_id) is a line.
    Column("order_id", KEY, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", TS, nullable=False),
    Column("locked_until", TS),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", TS, nullable=False),
    Column("delivered_at", TS),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
    Index("ix_deliveries_line", "webhook_id", "order_id", "id"),
    Index("ix_deliveries_event", "event_id"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", BigId, ForeignKey("deliveries.id"), nullable=False),
    Column("attempted_at", TS, nullable=False),
    Column("status_code", Integer),
    Column("duration_ms", Integer, nullable=False),
    Column("error", Text),
    Column("response_excerpt", Text),
    Index("ix_delivery_attempts_delivery", "delivery_id", "id"),
)

#: One row (id 1) whose `version` moves with every change to near-static data (settings, reasons,
#: routing rules, webhooks, facilities), so each process may keep that data in memory and check
#: it with one read. Database triggers (migration 0008) bump it: no write path can forget to.
reference_version = Table(
    "reference_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False),
)

# Products routing keeps away from a facility until a time: a block an admin or the store's
# associate asked for ("block"), or a hold a rejection left ("hold", with its reason).
product_blocks = Table(
    "product_blocks",
    metadata,
    Column("facility_id", ID, primary_key=True),
    Column("product_id", ID, primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("until", TS, nullable=False),
    Column("note", String(500)),
    Column("reason_id", String(64)),
    Column("created_by", String(200), nullable=False),
    Column("created_at", TS, nullable=False),
)
Index("ix_product_blocks_product", product_blocks.c.product_id)

# One row per scheduled job (the idle sweep, scheduled routing): which process holds it until
# when, so that however many workers run, one runs it at a time.
job_runs = Table(
    "job_runs",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200)),
    Column("lease_until", TS),
    Column("started_at", TS),
    Column("finished_at", TS),
)
