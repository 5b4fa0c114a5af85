//! The connections of a PostgreSQL or MySQL store for its reads and writes,
//! kept outside sqlx's pool.
//!
//! sqlx's pool pings every connection it takes back, in a task it spawns for
//! each release, and (unless told otherwise) every connection it hands out:
//! two more round trips to the database server for each statement, and on a
//! shared 2-core host a quarter of a create's time on PostgreSQL. This set
//! hands an idle connection out as it is (pinging only one that sat idle for
//! a while, which a restarted server or a firewall may have cut), and takes
//! back only a connection its user finished with cleanly ([`Conn::keep`]):
//! any other — an error on the way, a future dropped in the middle of a
//! statement — is closed, so a connection in an unknown state is never
//! reused.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use im_core::StoreError;
use sqlx::AnyConnection;
use sqlx::pool::PoolConnection;
use sqlx::{Any, Connection, SqlStr};
use tokio::sync::{Semaphore, SemaphorePermit};

/// How long a connection may sit idle before it is pinged when taken.
pub(crate) const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// How long a connection may sit idle before it is closed.
const IDLE_MAX: Duration = Duration::from_secs(600);

/// Up to `max` connections to one server, opened when needed.
pub(crate) struct Conns {
    url: String,
    /// Statements run on each new connection.
    setup: Arc<[SqlStr]>,
    /// Idle connections, the most recently used last, with when they were
    /// put back.
    idle: Mutex<Vec<(AnyConnection, Instant)>>,
    slots: Semaphore,
    acquire_timeout: Duration,
}

impl Conns {
    /// A set that opens no connection until one is asked for.
    pub(crate) fn new(
        url: String,
        setup: Arc<[SqlStr]>,
        max: u32,
        acquire_timeout: Duration,
    ) -> Conns {
        Conns {
            url,
            setup,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(usize::try_from(max.max(1)).unwrap_or(1)),
            acquire_timeout,
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<(AnyConnection, Instant)>> {
        // A panic while holding the lock leaves a list of whole connections.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection: an idle one, or a new one when none is idle and fewer
    /// than `max` are open; waits for one to come back otherwise, up to the
    /// acquire timeout.
    pub(crate) async fn get(&self) -> Result<Conn<'_>, StoreError> {
        let slot = tokio::time::timeout(self.acquire_timeout, self.slots.acquire())
            .await
            .map_err(|_| {
                StoreError::Backend(format!(
                    "no database connection came free within {:?}",
                    self.acquire_timeout
                ))
            })?
            .map_err(|_| StoreError::Backend("the database connections are closed".into()))?;
        let (idle, stale) = {
            let mut list = self.idle();
            // The oldest come first: those idle too long are closed.
            let expired = list
                .iter()
                .take_while(|(_, since)| since.elapsed() >= IDLE_MAX)
                .count();
            let stale: Vec<_> = list.drain(..expired).collect();
            (list.pop(), stale)
        };
        for (conn, _) in stale {
            drop(conn.close().await);
        }
        let conn = match idle {
            Some((conn, since)) if since.elapsed() < IDLE_BEFORE_PING => conn,
            Some((mut conn, _)) => match conn.ping().await {
                Ok(()) => conn,
                Err(_) => self.connect().await?,
            },
            None => self.connect().await?,
        };
        Ok(Conn {
            conn,
            owner: self,
            _slot: slot,
        })
    }

    async fn connect(&self) -> Result<AnyConnection, StoreError> {
        let open = async {
            let mut conn = AnyConnection::connect(&self.url).await?;
            run_setup(&mut conn, &self.setup).await?;
            Ok::<_, sqlx::Error>(conn)
        };
        match tokio::time::timeout(self.acquire_timeout, open).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(StoreError::Backend(format!(
                "cannot connect to the database: {e}"
            ))),
            Err(_) => Err(StoreError::Backend(format!(
                "cannot connect to the database within {:?}",
                self.acquire_timeout
            ))),
        }
    }

    /// Closes the idle connections and refuses new ones.
    pub(crate) async fn close(&self) {
        self.slots.close();
        let idle: Vec<_> = self.idle().drain(..).collect();
        for (conn, _) in idle {
            drop(conn.close().await);
        }
    }
}

/// Runs a store's session setup statements on a new connection (of
/// [`Conns`] or of the pool).
pub(crate) async fn run_setup(
    conn: &mut AnyConnection,
    setup: &[SqlStr],
) -> Result<(), sqlx::Error> {
    for stmt in setup {
        sqlx::query(stmt.clone()).execute(&mut *conn).await?;
    }
    Ok(())
}

/// A connection taken from [`Conns`]; dropped, it is closed (its socket shut)
/// unless [`Conn::keep`] gave it back.
pub(crate) struct Conn<'a> {
    conn: AnyConnection,
    owner: &'a Conns,
    _slot: SemaphorePermit<'a>,
}

impl Conn<'_> {
    /// Gives the connection back for reuse: its last statement ended and its
    /// transaction, if any, committed or rolled back.
    pub(crate) fn keep(self) {
        let Conn { conn, owner, _slot } = self;
        // Back in the list before its slot frees, for the next taker.
        owner.idle().push((conn, Instant::now()));
    }
}

impl Deref for Conn<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

/// A connection for one read or write: from [`Conns`] for a database server,
/// from sqlx's pool for SQLite (whose in-memory database lives in its one
/// pooled connection).
pub(crate) enum DbConn<'a> {
    Pooled(PoolConnection<Any>),
    Own(Conn<'a>),
}

impl DbConn<'_> {
    /// Gives the connection back after a clean end (see [`Conn::keep`]).
    pub(crate) fn keep(self) {
        match self {
            DbConn::Pooled(_) => {}
            DbConn::Own(c) => c.keep(),
        }
    }
}

impl Deref for DbConn<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            DbConn::Pooled(c) => c,
            DbConn::Own(c) => c,
        }
    }
}

impl DerefMut for DbConn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            DbConn::Pooled(c) => c,
            DbConn::Own(c) => c,
        }
    }
}
