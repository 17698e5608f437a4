//! Work: the bounded pool that runs CPU-heavy image work off the async
//! runtime.
//!
//! At most `concurrency` jobs run at once on tokio's blocking threads; at
//! most `max_queue` more wait for a slot. Beyond that a job is refused at
//! once with [`WorkError::Overloaded`] (a 503 with `Retry-After`), so a burst
//! can neither pile up without bound nor exhaust memory. A job that has
//! waited `max_queue_wait` without a slot is refused the same way: under
//! sustained overload the queue stays full for as long as it lasts, and
//! without that bound every request served would first wait out a whole
//! queue. A panic inside a job is caught here and becomes an error for that
//! job alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use tokio::sync::Semaphore;

/// Why a job did not run to completion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkError {
    /// Every slot is busy and the queue is full, or the job waited
    /// `max_queue_wait` for a slot without getting one.
    #[error("the server is busy: no processing slot is free soon enough, retry shortly")]
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
    /// Longest a job waits for a slot; `None`: as long as it takes.
    max_queue_wait: Option<Duration>,
}

impl WorkPool {
    pub fn new(concurrency: usize, max_queue: usize, max_queue_wait: Option<Duration>) -> WorkPool {
        WorkPool {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: AtomicUsize::new(0),
            max_queue,
            max_queue_wait,
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
                let acquire = Arc::clone(&self.slots).acquire_owned();
                let acquired = match self.max_queue_wait {
                    Some(bound) => tokio::time::timeout(bound, acquire)
                        .await
                        .map_err(|_| WorkError::Overloaded)?,
                    None => acquire.await,
                };
                acquired.map_err(|_| WorkError::Overloaded)?
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
        let pool = WorkPool::new(1, 4, None);
        let (value, _) = pool.run(|| 2 + 2).await.unwrap();
        assert_eq!(value, 4);
        let err = pool.run(|| -> u32 { panic!("decoder bug") }).await.unwrap_err();
        assert_eq!(err, WorkError::Panicked("decoder bug".into()));
        // The pool still works after a panic.
        assert_eq!(pool.run(|| 1).await.unwrap().0, 1);
    }

    #[tokio::test]
    async fn refuses_beyond_the_queue() {
        let pool = Arc::new(WorkPool::new(1, 1, None));
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

    #[tokio::test(start_paused = true)]
    async fn refuses_a_job_that_waited_past_the_bound() {
        let pool = Arc::new(WorkPool::new(1, 8, Some(Duration::from_secs(2))));
        // Hold the only slot from here, so paused time can advance.
        let held = Arc::clone(&pool.slots).try_acquire_owned().unwrap();
        let started = tokio::time::Instant::now();
        assert_eq!(pool.run(|| 0).await.unwrap_err(), WorkError::Overloaded);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        assert_eq!(pool.queue_depth(), 0);
        // One that gets the slot within the bound runs, and says how long it waited.
        let within = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { pool.run(|| 7).await })
        };
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(pool.queue_depth(), 1);
        drop(held);
        let (value, waited) = within.await.unwrap().unwrap();
        assert_eq!(value, 7);
        assert_eq!(waited, Duration::from_millis(1500));
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_bound_a_job_waits_for_its_slot() {
        let pool = Arc::new(WorkPool::new(1, 8, None));
        let held = Arc::clone(&pool.slots).try_acquire_owned().unwrap();
        let queued = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { pool.run(|| 7).await })
        };
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(held);
        assert_eq!(queued.await.unwrap().unwrap(), (7, Duration::from_secs(3600)));
    }
}
