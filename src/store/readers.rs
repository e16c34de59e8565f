//! SQLite's reader connections, each taken in turn like the writer's.
//!
//! A sqlx pool pings a connection each time it is given back (a second round trip to the
//! connection's worker thread, from a task spawned for it): every read cost two hand-overs
//! instead of one. Here a read takes a permit from a fair semaphore (one per connection there
//! may be), then an idle connection, or opens one; it gives the connection back when the
//! statement ends. Waiting reads are served in order by whichever connection comes free first.
//! Connections open on demand, so a quiet service keeps one or two.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use super::writer::turn_executor;

/// How long a read waits for a connection before failing, as the pool's acquire did.
const WAIT_FOR_TURN: Duration = Duration::from_secs(10);

/// Up to `limit` reader connections; cheap to clone. Closed by [`SqliteReaders::close`], after
/// which every read fails with `PoolClosed`, as a closed pool's would.
#[derive(Clone)]
pub(crate) struct SqliteReaders(Arc<Inner>);

struct Inner {
    // One permit per connection there may be; fair, so waiting reads are served in order by
    // whichever connection comes free first.
    permits: Arc<Semaphore>,
    // Open connections nobody holds, the most recently used last (taken first: it is warm).
    idle: StdMutex<Vec<SqliteConnection>>,
    // Open connections, held or idle.
    open: AtomicU32,
    options: SqliteConnectOptions,
    closed: AtomicBool,
}

impl std::fmt::Debug for SqliteReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReaders").finish_non_exhaustive()
    }
}

impl SqliteReaders {
    /// Readers over `options`, at most `limit` (at least one) connections; the first opens
    /// now, so a file that cannot be opened is reported at start.
    pub(crate) async fn connect(
        options: SqliteConnectOptions,
        limit: u32,
    ) -> Result<Self, sqlx::Error> {
        let first = options.connect().await?;
        let limit = usize::try_from(limit.max(1)).unwrap_or(1);
        Ok(Self(Arc::new(Inner {
            permits: Arc::new(Semaphore::new(limit)),
            idle: StdMutex::new(vec![first]),
            open: AtomicU32::new(1),
            options,
            closed: AtomicBool::new(false),
        })))
    }

    /// A connection for one statement. Uncontended, this takes no timer and no thread switch.
    pub(crate) async fn turn(&self) -> Result<ReadTurn, sqlx::Error> {
        let inner = &self.0;
        let permit = match inner.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::NoPermits) => {
                tokio::time::timeout(WAIT_FOR_TURN, inner.permits.clone().acquire_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?
                    .map_err(|_| sqlx::Error::PoolClosed)?
            }
            Err(TryAcquireError::Closed) => return Err(sqlx::Error::PoolClosed),
        };
        if inner.closed.load(Ordering::Acquire) {
            return Err(sqlx::Error::PoolClosed);
        }
        let idle = inner.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = inner.options.connect().await?;
                inner.open.fetch_add(1, Ordering::Relaxed);
                conn
            }
        };
        Ok(ReadTurn {
            conn: Some(conn),
            permit: Some(permit),
            home: self.0.clone(),
            finished: false,
        })
    }

    /// Closes every connection: idle ones now, held ones when their read ends; waiting and
    /// later reads fail.
    pub(crate) async fn close(&self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.permits.close();
        let idle = std::mem::take(&mut *self.0.idle.lock().unwrap_or_else(|p| p.into_inner()));
        for conn in idle {
            self.0.open.fetch_sub(1, Ordering::Relaxed);
            let _ = conn.close().await;
        }
    }

    /// (open connections, idle ones).
    pub(crate) fn occupancy(&self) -> (u32, u32) {
        let idle = self.0.idle.lock().unwrap_or_else(|p| p.into_inner()).len();
        (
            self.0.open.load(Ordering::Relaxed),
            u32::try_from(idle).unwrap_or(u32::MAX),
        )
    }
}

/// A reader connection held for one statement; given back when dropped.
pub(crate) struct ReadTurn {
    conn: Option<SqliteConnection>,
    permit: Option<OwnedSemaphorePermit>,
    home: Arc<Inner>,
    // Whether the statement ran to its end. A read given up halfway (a client gone, a request
    // timed out) may still be running on the connection's worker thread: the connection is
    // given back only after a ping has waited behind it, so the next read is not queued behind
    // leftover work while another connection is free.
    finished: bool,
}

impl ReadTurn {
    /// The statement ran to its end (successfully or not).
    pub(super) fn finish(&mut self) {
        self.finished = true;
    }

    /// After a failed statement: a connection whose worker thread is gone is not given back
    /// (the next read opens a fresh one).
    pub(super) async fn mend(&mut self, error: &sqlx::Error) {
        if matches!(error, sqlx::Error::WorkerCrashed) {
            self.conn = None;
            self.home.open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Passes `result` on, mending the connection first when it failed.
    pub(super) async fn checked<T>(
        &mut self,
        result: Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        if let Err(e) = &result {
            self.mend(e).await;
        }
        result
    }
}

impl Deref for ReadTurn {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.conn
            .as_ref()
            .expect("a turn's connection is only taken when it is given back")
    }
}

impl DerefMut for ReadTurn {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn
            .as_mut()
            .expect("a turn's connection is only taken when it is given back")
    }
}

impl Drop for ReadTurn {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if self.finished {
            give_back(&self.home, conn);
            return;
        }
        let permit = self.permit.take();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let home = self.home.clone();
                runtime.spawn(async move {
                    let mut conn = conn;
                    match conn.ping().await {
                        Ok(()) => give_back(&home, conn),
                        Err(_) => {
                            home.open.fetch_sub(1, Ordering::Relaxed);
                        }
                    }
                    drop(permit);
                });
            }
            // No runtime to wait on: let the connection go.
            Err(_) => {
                self.home.open.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

fn give_back(home: &Inner, conn: SqliteConnection) {
    if home.closed.load(Ordering::Acquire) {
        home.open.fetch_sub(1, Ordering::Relaxed);
        return;
    }
    home.idle
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(conn);
}

turn_executor!(SqliteReaders);

/// Readers of an in-memory database (each connection its own), for the tests below.
#[cfg(test)]
pub(super) async fn in_memory(limit: u32) -> SqliteReaders {
    use std::str::FromStr as _;
    let options = SqliteConnectOptions::from_str("sqlite::memory:").expect("url");
    SqliteReaders::connect(options, limit)
        .await
        .expect("readers")
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;

    async fn value(readers: &SqliteReaders) -> i64 {
        sqlx::query("select 7")
            .fetch_one(readers)
            .await
            .expect("read")
            .get(0)
    }

    #[tokio::test]
    async fn connections_open_only_when_reads_overlap_and_never_beyond_the_limit() {
        let readers = in_memory(3).await;
        for _ in 0..5 {
            assert_eq!(value(&readers).await, 7);
        }
        assert_eq!(
            readers.occupancy(),
            (1, 1),
            "one at a time needs one connection"
        );

        // Two turns held at once: a second connection opens; a third read opens the third.
        let mut a = readers.turn().await.expect("a");
        let mut b = readers.turn().await.expect("b");
        assert_eq!(readers.occupancy(), (2, 0));
        assert_eq!(value(&readers).await, 7);
        assert_eq!(readers.occupancy(), (3, 1));

        // With all three held, a read waits, and no fourth connection is opened.
        let mut c = readers.turn().await.expect("c");
        let waiting = tokio::spawn({
            let readers = readers.clone();
            async move { value(&readers).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        assert_eq!(readers.occupancy(), (3, 0));
        for turn in [&mut a, &mut b, &mut c] {
            turn.finish();
        }
        drop((a, b, c));
        assert_eq!(waiting.await.expect("read"), 7);
        assert_eq!(readers.occupancy(), (3, 3));
    }

    #[tokio::test]
    async fn a_waiting_read_takes_whichever_connection_comes_free_first() {
        let readers = in_memory(2).await;
        let a = readers.turn().await.expect("a");
        let b = readers.turn().await.expect("b");
        let waiting = tokio::spawn({
            let readers = readers.clone();
            async move { value(&readers).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(b);
        let read = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("served while the other connection is still held");
        assert_eq!(read.expect("read"), 7);
        drop(a);
    }

    #[tokio::test]
    async fn a_read_given_up_halfway_is_given_back_only_after_its_leftover_work() {
        let readers = in_memory(1).await;
        let slow = "with recursive n(i) as (select 1 union all select i + 1 from n where i < 300000) select count(*) from n";
        {
            let mut read = Box::pin(sqlx::query(slow).fetch_one(&readers));
            let _ = futures::poll!(read.as_mut());
        }
        // Not idle yet: a ping waits behind the statement before the connection is given back.
        assert_eq!(readers.occupancy(), (1, 0));
        assert_eq!(value(&readers).await, 7);
        assert_eq!(readers.occupancy(), (1, 1));
    }

    #[tokio::test]
    async fn after_close_reads_fail_as_a_closed_pool_s_would() {
        let readers = in_memory(2).await;
        assert_eq!(value(&readers).await, 7);
        let mut held = readers.turn().await.expect("held");
        readers.close().await;
        let err = sqlx::query("select 1")
            .fetch_one(&readers)
            .await
            .expect_err("closed");
        assert!(matches!(err, sqlx::Error::PoolClosed), "{err}");
        // The connection held at close is let go when its read ends.
        assert_eq!(readers.occupancy(), (1, 0));
        held.finish();
        drop(held);
        assert_eq!(readers.occupancy(), (0, 0));
    }
}
