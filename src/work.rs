//! Work: the bounded pool that runs CPU-heavy image work off the async
//! runtime.
//!
//! At most `concurrency` jobs run at once on tokio's blocking threads; at
//! most `max_queue` more wait for a slot. Beyond that a job is refused at
//! once with [`WorkError::Overloaded`] (a 503 with `Retry-After`), so a burst
//! can neither pile up without bound nor exhaust memory. A panic inside a job
//! is caught here and becomes an error for that job alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// Why a job did not run to completion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkError {
    /// Every slot is busy and the queue is full.
    #[error("the server is busy: all processing slots and the queue are full, retry shortly")]
    Overloaded,
    /// The job panicked (a bug); the message is logged, never sent.
    #[error("processing panicked: {0}")]
    Panicked(String),
}

/// A bounded pool of CPU slots with a bounded wait queue.
#[derive(Debug)]
pub struct WorkPool {
    /// One permit per job allowed to run at once.
    slots: Arc<Semaphore>,
    /// Jobs waiting for a permit; compared against `max_queue`.
    waiting: AtomicUsize,
    /// Most jobs allowed to wait.
    max_queue: usize,
}

impl WorkPool {
    pub fn new(concurrency: usize, max_queue: usize) -> WorkPool {
        WorkPool {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: AtomicUsize::new(0),
            max_queue,
        }
    }

    /// Jobs waiting for a slot now.
    pub fn queue_depth(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Runs `job` on a blocking thread once a slot is free. Returns its
    /// result and how long it waited for the slot.
    pub async fn run<T, F>(&self, job: F) -> Result<(T, Duration), WorkError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let queued = Instant::now();
        let permit = match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_queue {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(WorkError::Overloaded);
                }
                // Decrement the queue even if this future is dropped while waiting.
                let _in_queue = QueueSlot(&self.waiting);
                Arc::clone(&self.slots)
                    .acquire_owned()
                    .await
                    .map_err(|_| WorkError::Overloaded)?
            }
        };
        let waited = queued.elapsed();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await;
        match result {
            Ok(value) => Ok((value, waited)),
            Err(e) if e.is_panic() => Err(WorkError::Panicked(panic_message(e.into_panic()))),
            Err(e) => Err(WorkError::Panicked(e.to_string())),
        }
    }
}

/// Counts one waiting job for as long as it lives.
struct QueueSlot<'a>(&'a AtomicUsize);

impl Drop for QueueSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_reports_panics() {
        let pool = WorkPool::new(1, 4);
        let (value, _) = pool.run(|| 2 + 2).await.unwrap();
        assert_eq!(value, 4);
        let err = pool.run(|| -> u32 { panic!("decoder bug") }).await.unwrap_err();
        assert_eq!(err, WorkError::Panicked("decoder bug".into()));
        // The pool still works after a panic.
        assert_eq!(pool.run(|| 1).await.unwrap().0, 1);
    }

    #[tokio::test]
    async fn refuses_beyond_the_queue() {
        let pool = Arc::new(WorkPool::new(1, 1));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let busy = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { pool.run(move || wait.recv().ok()).await })
        };
        // Let the first job take the slot.
        while pool.slots.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let queued = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { pool.run(|| 7).await })
        };
        while pool.queue_depth() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.run(|| 0).await.unwrap_err(), WorkError::Overloaded);
        release.send(()).unwrap();
        assert!(busy.await.unwrap().is_ok());
        assert_eq!(queued.await.unwrap().unwrap().0, 7);
        assert_eq!(pool.queue_depth(), 0);
    }
}
