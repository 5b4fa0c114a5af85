//! The plain-HTTP server loop: accepting connections, serving each in a task
//! of its own with hyper, and the graceful shutdown (as `axum::serve` does),
//! with each connection's task polled through [`Repoll`].
//!
//! Why not `axum::serve`: hyper wakes a connection's task from inside its own
//! poll for every request with a body. Its reader hands the body to the
//! handler through a channel of one slot and parks on it; the handler, polled
//! next in the same task, takes the body and so wakes the reader, that is, its
//! own task. Tokio's multi-thread scheduler treats a task woken while it runs
//! as a yield: it queues the task again and wakes a parked worker to steal
//! it. On a sequential create that is one more thread woken for nothing, a
//! sixth of the server's CPU on 2 cores and the core PostgreSQL was about to
//! run on (docs/benchmarks.md). [`Repoll`] polls such a task again at once
//! instead, which is what the wake-up asked for.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::Layer as _;

/// Serves `app` on `listener` until `stopping` resolves; then stops
/// accepting (new connections are refused), lets each connection finish the
/// request it is on, and resolves when all have closed.
pub async fn serve(listener: TcpListener, app: Router, stopping: impl Future<Output = ()>) {
    // Connections hold a receiver each: the sender's `closed` is the end of
    // the last one. Dropping `stop_tx` tells them to finish.
    let (stop_tx, stop_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    tokio::pin!(stopping);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors, say: new connections wait in
                    // the backlog meanwhile.
                    tracing::error!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut stopping => break,
        };
        // The peer's address for the handlers, as `into_make_service_with_connect_info`.
        let service =
            TowerToHyperService::new(axum::Extension(ConnectInfo(peer)).layer(app.clone()));
        let mut stop = stop_rx.clone();
        let done = done_rx.clone();
        tokio::spawn(Repoll::new(async move {
            let builder = Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::trace!("connection from {peer} ended: {e}");
                    }
                }
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    if let Err(e) = conn.await {
                        tracing::trace!("connection from {peer} ended: {e}");
                    }
                }
            }
            drop(done);
        }));
    }
    drop(listener);
    drop(stop_tx);
    drop(stop_rx);
    drop(done_rx);
    done_tx.closed().await;
}

/// The errors of one connection that the listener itself survives.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// How many times in a row [`Repoll`] polls again a future that keeps waking
/// itself before it yields to the scheduler (hyper yields after 16 rounds of
/// a busy connection, and tokio's budget runs out, by waking the task).
const MAX_REPOLLS: usize = 4;

/// A future that, woken while it is being polled, is polled again at once
/// rather than queued again by the scheduler (see the module's
/// documentation); wake-ups at any other time go to the task as usual.
pub struct Repoll<F> {
    fut: Pin<Box<F>>,
    shared: Arc<Shared>,
    /// A waker for [`Shared`], made once.
    waker: Waker,
}

/// Not polled.
const IDLE: u8 = 0;
/// Being polled.
const POLLING: u8 = 1;
/// Woken while being polled.
const WOKEN: u8 = 2;

struct Shared {
    state: AtomicU8,
    /// The task's own waker, from the last poll.
    task: Mutex<Option<Waker>>,
}

impl Shared {
    fn task(&self) -> std::sync::MutexGuard<'_, Option<Waker>> {
        self.task.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        match self
            .state
            .compare_exchange(POLLING, WOKEN, Ordering::AcqRel, Ordering::Acquire)
        {
            // The poll in progress will poll again.
            Ok(_) | Err(WOKEN) => {}
            Err(_) => {
                if let Some(w) = self.task().as_ref() {
                    w.wake_by_ref();
                }
            }
        }
    }
}

impl<F: Future> Repoll<F> {
    /// Wraps `fut`.
    pub fn new(fut: F) -> Self {
        let shared = Arc::new(Shared {
            state: AtomicU8::new(IDLE),
            task: Mutex::new(None),
        });
        Repoll {
            fut: Box::pin(fut),
            waker: Waker::from(shared.clone()),
            shared,
        }
    }
}

impl<F: Future> Future for Repoll<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        {
            let mut task = self.shared.task();
            if !task.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        let this = &mut *self;
        let mut inner = Context::from_waker(&this.waker);
        for _ in 0..MAX_REPOLLS {
            this.shared.state.store(POLLING, Ordering::Release);
            match this.fut.as_mut().poll(&mut inner) {
                Poll::Ready(out) => {
                    this.shared.state.store(IDLE, Ordering::Release);
                    return Poll::Ready(out);
                }
                Poll::Pending => {
                    if this
                        .shared
                        .state
                        .compare_exchange(POLLING, IDLE, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        return Poll::Pending;
                    }
                    // Woken meanwhile: poll again.
                }
            }
        }
        // Still waking itself: let the other tasks run first, as it asked.
        this.shared.state.store(IDLE, Ordering::Release);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll};

    use super::{MAX_REPOLLS, Repoll};

    #[tokio::test]
    async fn a_future_woken_while_polled_is_polled_again_in_the_same_poll() {
        let polls = Arc::new(AtomicUsize::new(0));
        let seen = polls.clone();
        let fut = Repoll::new(std::future::poll_fn(move |cx: &mut Context<'_>| {
            // Wakes itself on its first poll, as hyper's body hand-over does.
            if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(7)
            }
        }));
        tokio::pin!(fut);
        let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
        assert_eq!(first, Poll::Ready(7));
        assert_eq!(polls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_future_that_keeps_waking_itself_yields_after_a_few_polls() {
        let polls = Arc::new(AtomicUsize::new(0));
        let seen = polls.clone();
        let fut = Repoll::new(std::future::poll_fn(move |cx: &mut Context<'_>| {
            if seen.fetch_add(1, Ordering::SeqCst) < 2 * MAX_REPOLLS {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        }));
        tokio::pin!(fut);
        let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
        assert!(first.is_pending());
        assert_eq!(polls.load(Ordering::SeqCst), MAX_REPOLLS);
        // It asked to be polled again, and finishes.
        fut.await;
        assert_eq!(polls.load(Ordering::SeqCst), 2 * MAX_REPOLLS + 1);
    }

    #[tokio::test]
    async fn a_wake_up_after_the_poll_reaches_the_task() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let waiter = tokio::spawn(Repoll::new(rx));
        tokio::task::yield_now().await;
        tx.send(3).unwrap();
        assert_eq!(waiter.await.unwrap().unwrap(), 3);
    }
}
