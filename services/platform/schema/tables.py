"""Core tables of the platform (outbox, entity sequences, idempotency keys).

They mirror `versions/` exactly; a test compares the two, so change both together.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from services.platform.db import UtcDateTime, new_metadata

metadata = new_metadata()

# INTEGER PRIMARY KEY is SQLite's rowid alias: autoincrementing without a sequence.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

#: Events written in the transaction of the change they announce; the relay publishes them.
outbox = Table(
    "outbox",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("site", String(200), nullable=False),
    Column("type", String(200), nullable=False),
    Column("entity_id", String(200), nullable=False),
    Column("entity_sequence", BigInteger, nullable=False),
    Column("payload_type", String(300), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("event_time", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    UniqueConstraint("event_id"),
)
# The relay's scan: only unpublished rows, in id order.
Index(
    "ix_outbox_unpublished",
    outbox.c.id,
    postgresql_where=outbox.c.published_at.is_(None),
    sqlite_where=outbox.c.published_at.is_(None),
)
Index("ix_outbox_published_at", outbox.c.published_at)

#: Last entity_sequence handed out per (site, publishing package, entity).
entity_sequences = Table(
    "entity_sequences",
    metadata,
    Column("site", String(200), nullable=False),
    Column("stream", String(200), nullable=False),
    Column("entity_id", String(200), nullable=False),
    Column("last_sequence", BigInteger, nullable=False),
    PrimaryKeyConstraint("site", "stream", "entity_id"),
)

#: AIP-155 request ids and the response they produced.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("site", String(200), nullable=False),
    Column("scope", String(300), nullable=False),
    Column("request_id", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("response_type", String(300), nullable=True),
    Column("response", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("site", "scope", "request_id"),
)
Index("ix_idempotency_keys_expires_at", idempotency_keys.c.expires_at)

#: How far each event consumer of this service has read the all-sites stream.
consumer_positions = Table(
    "consumer_positions",
    metadata,
    Column("consumer", String(200), primary_key=True),
    Column("cursor", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: Events a consumer has handled, so a redelivered event is handled once (at-least-once bus,
#: effectively-once handling). Purged after the bus's retention.
consumed_events = Table(
    "consumed_events",
    metadata,
    Column("consumer", String(200), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("consumed_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("consumer", "event_id"),
)
Index("ix_consumed_events_consumed_at", consumed_events.c.consumed_at)
