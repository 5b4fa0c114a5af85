//! Running an operation in the request's own task without ever abandoning it.
//!
//! An operation must run to its end once started: a client that goes away or
//! the blocking-call timeout must not drop a create between launching a VM
//! and recording it. Spawning each operation as a task of its own guarantees
//! that, but costs every request a hand-over between tasks — on a
//! multi-threaded runtime often between threads, a wake-up of a parked worker
//! and its return to sleep, a sixth of a sequential create on PostgreSQL on a
//! 2-core host. [`Detached`] polls the operation in place instead, and only if
//! it is dropped before the end does it hand what is left to a new task.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// An operation that panicked; the text of its panic.
#[derive(Debug)]
pub(crate) struct Panicked(pub String);

/// A future polled where it is awaited and, if dropped unfinished, finished
/// in a task of its own (see the module's documentation). A panic while
/// polling ends it with [`Panicked`] instead of unwinding through the
/// request's task, as a spawned task's panic would.
pub(crate) struct Detached<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fut: Option<Pin<Box<F>>>,
}

impl<F> Detached<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// Boxed: an operation's future is kilobytes, and the request's future
    /// would otherwise move it with each of its own moves.
    pub(crate) fn new(fut: F) -> Self {
        Detached {
            fut: Some(Box::pin(fut)),
        }
    }
}

impl<F> Future for Detached<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    type Output = Result<F::Output, Panicked>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(fut) = self.fut.as_mut() else {
            return Poll::Ready(Err(Panicked("polled after its end".into())));
        };
        match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => {
                self.fut = None;
                Poll::Ready(Ok(out))
            }
            Err(payload) => {
                // A panicked future must not be polled again, nor finished.
                self.fut = None;
                Poll::Ready(Err(Panicked(panic_text(payload.as_ref()))))
            }
        }
    }
}

impl<F> Drop for Detached<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn drop(&mut self) {
        if let Some(fut) = self.fut.take() {
            // Outside a runtime (its shutdown) nothing can run it any more.
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(fut);
            }
        }
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::Detached;

    #[tokio::test]
    async fn an_operation_dropped_half_way_still_runs_to_its_end() {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let op = Detached::new(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            flag.store(true, Ordering::SeqCst);
        });
        // The request gives up long before the operation ends.
        assert!(
            tokio::time::timeout(Duration::from_millis(5), op)
                .await
                .is_err()
        );
        assert!(!done.load(Ordering::SeqCst));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(done.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_panicking_operation_answers_its_panic_instead_of_unwinding() {
        let op = Detached::new(async {
            tokio::task::yield_now().await;
            if true {
                panic!("boom");
            }
        });
        let err = op.await.unwrap_err();
        assert_eq!(err.0, "boom");
    }

    #[tokio::test]
    async fn a_finished_operation_answers_its_output() {
        assert_eq!(Detached::new(async { 42 }).await.unwrap(), 42);
    }
}
