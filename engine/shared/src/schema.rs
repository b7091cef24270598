//! The ledger's tables, created and migrated at start. Migrations are
//! numbered; each runs once, in one transaction, under an advisory lock so
//! replicas starting together do not race. Never edit a shipped migration:
//! add the next one.

use tokio_postgres::Client;

use crate::error::SharedError;

/// Every migration, in order: (version, what it does, SQL).
const MIGRATIONS: &[(i32, &str, &str)] = &[(
    1,
    "stock of record, feed positions, capacity, reservations, keys, decisions, outbox",
    r#"
CREATE SEQUENCE allot_change;
CREATE TABLE allot_stock (
    node text NOT NULL,
    sku text NOT NULL,
    on_hand bigint NOT NULL,
    feed_reserved bigint NOT NULL,
    held bigint NOT NULL DEFAULT 0,
    protected bigint NOT NULL,
    version bigint NOT NULL,
    change bigint NOT NULL,
    PRIMARY KEY (node, sku),
    CHECK (held >= 0)
);
CREATE INDEX allot_stock_by_change ON allot_stock (change);
CREATE TABLE allot_feed (
    node text PRIMARY KEY,
    sequence bigint NOT NULL,
    change bigint NOT NULL
);
CREATE TABLE allot_capacity (
    node text NOT NULL,
    day integer NOT NULL,
    used bigint NOT NULL,
    change bigint NOT NULL,
    PRIMARY KEY (node, day),
    CHECK (used >= 0)
);
CREATE INDEX allot_capacity_by_change ON allot_capacity (change);
CREATE TABLE allot_reservations (
    id text PRIMARY KEY,
    order_id text NOT NULL,
    decision_id text NOT NULL,
    state text NOT NULL,
    expires_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    body jsonb NOT NULL
);
CREATE INDEX allot_reservations_due ON allot_reservations (expires_at) WHERE state = 'held';
CREATE TABLE allot_keys (
    key text PRIMARY KEY,
    fingerprint bytea NOT NULL,
    response bytea NOT NULL,
    at timestamptz NOT NULL
);
CREATE TABLE allot_decisions (
    id text PRIMARY KEY,
    record bytea NOT NULL,
    at timestamptz NOT NULL
);
CREATE TABLE allot_outbox (
    id bigserial PRIMARY KEY,
    subject text NOT NULL,
    payload bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX allot_outbox_pending ON allot_outbox (id) WHERE published_at IS NULL;
CREATE TABLE allot_meta (
    key text PRIMARY KEY,
    value text NOT NULL
);
"#,
)];

/// The advisory lock key migrations and seeding run under.
pub(crate) const LOCK: i64 = 0x616c_6c6f_7400;

/// Brings the schema to the latest version; returns how many migrations ran.
pub(crate) async fn migrate(client: &mut Client) -> Result<usize, SharedError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS allot_schema (version integer PRIMARY KEY, what text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await?;
    let current: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM allot_schema", &[])
        .await?
        .get(0);
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Err(SharedError::SchemaTooNew { current, latest });
    }
    let mut ran = 0;
    for &(version, what, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO allot_schema (version, what) VALUES ($1, $2)",
            &[&version, &what],
        )
        .await?;
        tracing::info!(version, what, "ledger schema migrated");
        ran += 1;
    }
    tx.commit().await?;
    Ok(ran)
}
