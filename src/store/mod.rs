//! The only module that speaks SQL.
//!
//! One `Store` wraps either a SQLite or a PostgreSQL pool (`Pool`), chosen at run time from
//! the database URL. Each query is written once and compiled per driver through `on_pool!`;
//! a per-backend arm appears only where the SQL really differs. Every tenant-owned query takes
//! the `TenantId` and filters by it.

pub mod agents;
pub mod ai;
pub mod api_keys;
pub mod attachments;
pub mod audit;
mod cache;
pub mod calls;
pub mod canned;
pub mod contacts;
pub mod conversations;
pub mod events;
pub mod extensions;
pub mod ivr;
pub mod labels;
pub mod migrations;
pub mod queues;
mod readers;
pub mod routed_contacts;
pub mod sessions;
pub mod tenants;
pub mod tickets;
pub mod users;
pub mod widgets;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use readers::SqliteReaders;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use writer::SqliteWriter;

/// Run one sqlx expression against whichever backend this store uses.
/// The body is type-checked once per driver.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite { read: $pool, .. } => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Like `on_pool!`, for statements that write. SQLite allows one writer at a time: all writes
/// go through one dedicated connection (`writer::SqliteWriter`), queued fairly in-process,
/// instead of many connections meeting the file lock and sleeping in SQLite's busy handler
/// (which made latency spiky).
macro_rules! on_write {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite { write: $pool, .. } => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_write;

/// What can go wrong talking to the database, in the store's own terms.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or belongs to another tenant, which callers must not be able to tell apart).
    #[error("not found")]
    NotFound,
    /// A unique key would be violated; the text names what clashed.
    #[error("already exists: {0}")]
    Conflict(String),
    /// The database URL is not one we can use.
    #[error("unsupported database url `{0}`: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other driver error.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A stored value could not be read back (e.g. an unknown role name).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

/// Starts a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes cannot wait for a
/// concurrent writer and fails with "database is locked" instead. PostgreSQL needs nothing.
pub(crate) trait BeginWrite {
    type Tx: std::ops::DerefMut + Send;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<Self::Tx, sqlx::Error>> + Send;
}

impl BeginWrite for SqliteWriter {
    type Tx = writer::WriteTx;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<Self::Tx, sqlx::Error>> + Send {
        self.begin_immediate()
    }
}

impl BeginWrite for PgPool {
    type Tx = sqlx::Transaction<'static, sqlx::Postgres>;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<Self::Tx, sqlx::Error>> + Send {
        self.begin()
    }
}

/// Turns a unique-key violation into `StoreError::Conflict` naming `what`.
pub(crate) trait ResultExt<T> {
    fn on_unique(self, what: &str) -> Result<T, StoreError>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn on_unique(self, what: &str) -> Result<T, StoreError> {
        self.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(what.to_owned())
            }
            _ => StoreError::Database(e),
        })
    }
}

/// The connection pool of one backend.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    /// Embedded default, one node.
    Sqlite {
        /// Readers (WAL lets them run beside the writer).
        read: SqliteReaders,
        /// The one writer connection.
        write: SqliteWriter,
    },
    /// Required for more than one instance.
    Postgres(PgPool),
}

/// Which database family a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Picks the backend from a database URL's scheme.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }
}

/// Hides a password in a database URL for logs and errors.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("REDACTED"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    pub(crate) caches: std::sync::Arc<cache::Caches>,
}

/// Pool occupancy, exported as metrics.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
}

impl Store {
    /// Connects to `url` (creating a SQLite file and its folder when missing).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let pool = match Backend::from_url(url)? {
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                if let Some(parent) = opts.get_filename().parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
                }
                // The writer first: it creates the file and sets WAL before readers open it.
                let write = SqliteWriter::connect(opts.clone()).await?;
                // Not a sqlx pool either (see `readers`): one round trip per read.
                let read = SqliteReaders::connect(opts, max_connections).await?;
                Pool::Sqlite { read, write }
            }
            Backend::Postgres => Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?,
            ),
        };
        Ok(Self {
            pool,
            caches: Default::default(),
        })
    }

    /// Which backend this store talks to.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite { .. } => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations of this backend's tree.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite { write, .. } => migrations::SQLITE.run(&mut *write.turn().await?).await?,
            Pool::Postgres(p) => migrations::POSTGRES.run(p).await?,
        }
        Ok(())
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("select 1").execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Current pool occupancy.
    pub fn pool_stats(&self) -> PoolStats {
        match &self.pool {
            Pool::Sqlite { read, write } => {
                let (read_open, read_idle) = read.occupancy();
                let (open, idle) = write.occupancy();
                PoolStats {
                    size: read_open + open,
                    idle: read_idle + idle,
                }
            }
            Pool::Postgres(p) => PoolStats {
                size: p.size(),
                idle: p.num_idle() as u32,
            },
        }
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// Page size bounds shared by every list query.
pub fn clamp_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(50).clamp(1, 200)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every statement of `sql` (`;`-separated) that touches `table` finds its rows by primary
    /// key in SQLite's plan, whatever else the table holds: a scan there grows with the table.
    pub(crate) async fn assert_looked_up_by_key(sql: &str, table: &str) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("plan.db").display());
        let store = Store::connect(&url, 2).await.unwrap();
        store.migrate().await.unwrap();
        let Pool::Sqlite { write, .. } = &store.pool else {
            unreachable!("a SQLite URL")
        };
        let mut checked = 0;
        for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            // Our own constants, explained in a test.
            let explain = sqlx::AssertSqlSafe(format!("explain query plan {statement}"));
            let plan: Vec<String> = sqlx::query_as::<_, (i64, i64, i64, String)>(explain)
                .fetch_all(write)
                .await
                .unwrap()
                .into_iter()
                .map(|(_, _, _, detail)| detail)
                .collect();
            let on_table: Vec<&String> = plan
                .iter()
                .filter(|step| {
                    step.contains(&format!(" {table} ")) || step.ends_with(&format!(" {table}"))
                })
                .collect();
            assert!(
                !on_table.is_empty(),
                "{table} not in the plan of {statement}: {plan:?}"
            );
            for step in on_table {
                assert!(
                    step.contains("INTEGER PRIMARY KEY"),
                    "{table} not looked up by key in {statement}: {plan:?}"
                );
            }
            checked += 1;
        }
        assert!(checked > 0, "no statement in {sql}");
    }
}
