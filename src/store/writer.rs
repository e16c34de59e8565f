//! SQLite's one writer connection, taken in turn.
//!
//! SQLite allows one writer at a time, so every write goes through one connection. A sqlx pool
//! of one connection would do that too, but it pings the connection each time it is given back
//! (a second round trip to the connection's worker thread, from a task spawned for it), and arms
//! a timer for each acquire. On the voice path that doubled the thread switches of every write.
//! Here the connection sits behind a fair (FIFO) async mutex: a write is one round trip.
//!
//! A statement cut short (its future dropped) leaves nothing behind: the connection's worker
//! finishes or drops it before the next command, which waits behind it in the same queue.
//! Should the connection's worker thread ever stop, the statement that finds out fails and the
//! connection is opened again for the next one, as the pool would have replaced it.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteTransactionManager};
use sqlx::{ConnectOptions, Connection};
use sqlx_core::transaction::TransactionManager;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// How long a write waits for the connection before failing, as the pool's acquire did.
const WAIT_FOR_TURN: Duration = Duration::from_secs(30);

type Slot = Option<SqliteConnection>;

/// The writer connection; cheap to clone. Closed by [`SqliteWriter::close`], after which
/// every write fails with `PoolClosed`, as a closed pool's would.
#[derive(Clone)]
pub(crate) struct SqliteWriter {
    conn: Arc<Mutex<Slot>>,
    options: Arc<SqliteConnectOptions>,
}

impl std::fmt::Debug for SqliteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteWriter").finish_non_exhaustive()
    }
}

/// The connection, held for one statement or one transaction.
pub(crate) struct Turn {
    slot: OwnedMutexGuard<Slot>,
    options: Arc<SqliteConnectOptions>,
}

impl Turn {
    /// Nothing to do when a statement ends: a write given up halfway is finished or dropped by
    /// the worker before the next command, and every write waits in that one queue anyway.
    pub(super) fn finish(&mut self) {}

    /// After a failed statement: a connection whose worker thread is gone is replaced, so one
    /// crash costs one write and not every write until a restart.
    async fn mend(&mut self, error: &sqlx::Error) {
        if matches!(error, sqlx::Error::WorkerCrashed) {
            match self.options.connect().await {
                Ok(fresh) => *self.slot = Some(fresh),
                Err(e) => tracing::error!(error = %e, "cannot reopen the SQLite writer connection"),
            }
        }
    }

    /// Passes `result` on, mending the connection first when it failed.
    async fn checked<T>(&mut self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        if let Err(e) = &result {
            self.mend(e).await;
        }
        result
    }
}

impl Deref for Turn {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.slot
            .as_ref()
            .expect("a turn is only handed out on an open connection")
    }
}

impl DerefMut for Turn {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.slot
            .as_mut()
            .expect("a turn is only handed out on an open connection")
    }
}

impl SqliteWriter {
    /// Opens the connection.
    pub(crate) async fn connect(options: SqliteConnectOptions) -> Result<Self, sqlx::Error> {
        let conn = options.connect().await?;
        Ok(Self {
            conn: Arc::new(Mutex::new(Some(conn))),
            options: Arc::new(options),
        })
    }

    /// Waits for the connection. Uncontended, this takes no timer and no thread switch.
    pub(crate) async fn turn(&self) -> Result<Turn, sqlx::Error> {
        let guard = match self.conn.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => tokio::time::timeout(WAIT_FOR_TURN, self.conn.clone().lock_owned())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?,
        };
        if guard.is_none() {
            return Err(sqlx::Error::PoolClosed);
        }
        Ok(Turn {
            slot: guard,
            options: self.options.clone(),
        })
    }

    /// Starts a transaction holding the write lock (`BEGIN IMMEDIATE`, see `BeginWrite`).
    pub(crate) async fn begin_immediate(&self) -> Result<WriteTx, sqlx::Error> {
        let mut turn = self.turn().await?;
        let begun = SqliteTransactionManager::begin(
            &mut turn,
            Some(sqlx::SqlSafeStr::into_sql_str("BEGIN IMMEDIATE")),
        )
        .await;
        turn.checked(begun).await?;
        Ok(WriteTx { turn, open: true })
    }

    /// Closes the connection once the writes ahead of this call are done.
    pub(crate) async fn close(&self) {
        if let Some(conn) = self.conn.lock().await.take() {
            let _ = conn.close().await;
        }
    }

    /// Whether the connection is open and not in use: (open, idle).
    pub(crate) fn occupancy(&self) -> (u32, u32) {
        match self.conn.try_lock() {
            Ok(slot) => (u32::from(slot.is_some()), u32::from(slot.is_some())),
            Err(_) => (1, 0),
        }
    }
}

/// A write transaction. Dropped without `commit`, it is rolled back before the connection's
/// next command, as sqlx's own `Transaction` is.
pub(crate) struct WriteTx {
    turn: Turn,
    open: bool,
}

impl WriteTx {
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        SqliteTransactionManager::commit(&mut self.turn).await?;
        self.open = false;
        Ok(())
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.turn
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.turn
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if self.open {
            SqliteTransactionManager::start_rollback(&mut self.turn);
        }
    }
}

/// `sqlx::Executor` for a type whose `async fn turn(&self)` hands out a connection (a turn with
/// `finish`, `mend` and `checked`, dereferencing to `SqliteConnection`): each statement runs on
/// the connection of one turn, which ends with the statement.
macro_rules! turn_executor {
    ($ty:ty) => {
        impl<'c> ::sqlx::Executor<'c> for &'c $ty {
            type Database = ::sqlx::sqlite::Sqlite;

            fn fetch_many<'e, 'q: 'e, E>(
                self,
                query: E,
            ) -> ::futures::stream::BoxStream<
                'e,
                Result<
                    ::sqlx::Either<::sqlx::sqlite::SqliteQueryResult, ::sqlx::sqlite::SqliteRow>,
                    ::sqlx::Error,
                >,
            >
            where
                'c: 'e,
                E: 'q + ::sqlx::Execute<'q, ::sqlx::sqlite::Sqlite>,
            {
                use ::futures::stream::StreamExt;
                // The rows are gathered while the connection is held (every caller collects
                // them anyway: writes return a handful, lists are paged), so the turn ends
                // with the statement and not with the caller's reading.
                ::futures::stream::once(async move {
                    let items: Vec<_> = match self.turn().await {
                        Ok(mut turn) => {
                            let items: Vec<_> = turn.fetch_many(query).collect().await;
                            turn.finish();
                            if let Some(Err(e)) = items.last() {
                                turn.mend(e).await;
                            }
                            items
                        }
                        Err(e) => vec![Err(e)],
                    };
                    ::futures::stream::iter(items)
                })
                .flatten()
                .boxed()
            }

            fn fetch_optional<'e, 'q: 'e, E>(
                self,
                query: E,
            ) -> ::futures::future::BoxFuture<
                'e,
                Result<Option<::sqlx::sqlite::SqliteRow>, ::sqlx::Error>,
            >
            where
                'c: 'e,
                E: 'q + ::sqlx::Execute<'q, ::sqlx::sqlite::Sqlite>,
            {
                Box::pin(async move {
                    let mut turn = self.turn().await?;
                    let found = turn.fetch_optional(query).await;
                    turn.finish();
                    turn.checked(found).await
                })
            }

            fn prepare_with<'e>(
                self,
                sql: ::sqlx::SqlStr,
                parameters: &'e [::sqlx::sqlite::SqliteTypeInfo],
            ) -> ::futures::future::BoxFuture<
                'e,
                Result<::sqlx::sqlite::SqliteStatement, ::sqlx::Error>,
            >
            where
                'c: 'e,
            {
                Box::pin(async move {
                    let mut turn = self.turn().await?;
                    let prepared = turn.prepare_with(sql, parameters).await;
                    turn.finish();
                    prepared
                })
            }

            fn describe<'e>(
                self,
                sql: ::sqlx::SqlStr,
            ) -> ::futures::future::BoxFuture<
                'e,
                Result<::sqlx::Describe<::sqlx::sqlite::Sqlite>, ::sqlx::Error>,
            >
            where
                'c: 'e,
            {
                Box::pin(async move {
                    let mut turn = self.turn().await?;
                    let described = turn.describe(sql).await;
                    turn.finish();
                    described
                })
            }
        }
    };
}
pub(super) use turn_executor;

turn_executor!(SqliteWriter);

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::Row;

    use super::*;

    async fn writer() -> SqliteWriter {
        let w = SqliteWriter::connect(SqliteConnectOptions::from_str("sqlite::memory:").unwrap())
            .await
            .unwrap();
        sqlx::query("create table notes (id integer primary key, text text not null)")
            .execute(&w)
            .await
            .unwrap();
        w
    }

    async fn texts(w: &SqliteWriter) -> Vec<String> {
        sqlx::query("select text from notes order by id")
            .fetch_all(w)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect()
    }

    #[tokio::test]
    async fn a_committed_transaction_is_kept_and_a_dropped_one_leaves_nothing() {
        let w = writer().await;
        let mut tx = w.begin_immediate().await.unwrap();
        sqlx::query("insert into notes (text) values ('kept')")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut tx = w.begin_immediate().await.unwrap();
        sqlx::query("insert into notes (text) values ('dropped')")
            .execute(&mut *tx)
            .await
            .unwrap();
        drop(tx);

        sqlx::query("insert into notes (text) values ('after')")
            .execute(&w)
            .await
            .unwrap();
        assert_eq!(texts(&w).await, ["kept", "after"]);
    }

    #[tokio::test]
    async fn a_write_waits_for_the_open_transaction_and_is_not_part_of_it() {
        let w = writer().await;
        let mut tx = w.begin_immediate().await.unwrap();
        sqlx::query("insert into notes (text) values ('undone')")
            .execute(&mut *tx)
            .await
            .unwrap();
        let second = tokio::spawn({
            let w = w.clone();
            async move {
                sqlx::query("insert into notes (text) values ('second')")
                    .execute(&w)
                    .await
                    .map(|r| r.rows_affected())
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "wrote inside another's transaction");
        // Rolled back: had the second write run inside it, it would be undone too.
        drop(tx);
        assert_eq!(second.await.unwrap().unwrap(), 1);
        assert_eq!(texts(&w).await, ["second"]);
    }

    #[tokio::test]
    async fn a_transaction_given_up_halfway_leaves_nothing_and_the_next_write_runs() {
        let w = writer().await;
        for n in 0..20 {
            let mut tx = w.begin_immediate().await.unwrap();
            sqlx::query("insert into notes (text) values ('undone')")
                .execute(&mut *tx)
                .await
                .unwrap();
            {
                let mut given_up = Box::pin(
                    sqlx::query("insert into notes (text) values ('undone too')").execute(&mut *tx),
                );
                let _ = futures::poll!(given_up.as_mut());
            }
            drop(tx);
            sqlx::query("insert into notes (text) values ($1)")
                .bind(format!("sure {n}"))
                .execute(&w)
                .await
                .unwrap();
        }
        let texts = texts(&w).await;
        assert_eq!(texts.len(), 20, "{texts:?}");
        assert!(texts.iter().all(|t| t.starts_with("sure")), "{texts:?}");
    }

    #[tokio::test]
    async fn a_write_given_up_halfway_does_not_disturb_the_next() {
        let w = writer().await;
        for n in 0..20 {
            let mut given_up =
                Box::pin(sqlx::query("insert into notes (text) values ('maybe')").execute(&w));
            // Started (the connection taken, the statement sent) and then dropped.
            let _ = futures::poll!(given_up.as_mut());
            drop(given_up);
            sqlx::query("insert into notes (text) values ($1)")
                .bind(format!("sure {n}"))
                .execute(&w)
                .await
                .unwrap();
        }
        let sure = texts(&w)
            .await
            .into_iter()
            .filter(|t| t.starts_with("sure"))
            .count();
        assert_eq!(sure, 20);
    }

    #[tokio::test]
    async fn after_close_writes_fail_as_a_closed_pool_s_would() {
        let w = writer().await;
        assert_eq!(w.occupancy(), (1, 1));
        w.close().await;
        assert_eq!(w.occupancy(), (0, 0));
        let err = sqlx::query("insert into notes (text) values ('late')")
            .execute(&w)
            .await
            .unwrap_err();
        assert!(matches!(err, sqlx::Error::PoolClosed), "{err:?}");
        assert!(matches!(
            w.begin_immediate().await,
            Err(sqlx::Error::PoolClosed)
        ));
    }
}
