//! Caches and single-flight: work that was done, or is being done, is not
//! done again.
//!
//! * [`SingleFlight`] merges identical concurrent requests: the first starts
//!   the work as a task of its own, later ones wait for the same result. The
//!   task is not tied to any one waiter, so a client that hangs up cancels
//!   nothing for the others, and the result still reaches the cache.
//! * [`ByteCache`] is a bounded in-memory cache weighed in bytes with a TTL
//!   (moka), used for results and for sources. Only successes are stored.
//! * [`Tier`] puts the two together, with the label its hits and misses are
//!   counted under: look up, else join the run in flight, else run and
//!   store. The result and the source caches are each one tier.
//! * A tier stores what missed as its [`Admission`] says: on the key's
//!   first request, or (the default) on its second.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use crate::admission::{Admission, Doorkeeper};
use crate::metrics::{CacheLabel, Metrics};

/// A run in flight, awaitable by any number of waiters; `Err` is a panic message.
type Flight<V> = Shared<BoxFuture<'static, Result<V, String>>>;

/// Merges concurrent calls with the same key into one run.
pub struct SingleFlight<K, V> {
    in_flight: Arc<Mutex<HashMap<K, Flight<V>>>>,
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        SingleFlight {
            in_flight: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl<K, V> SingleFlight<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Runs `work()` for `key` unless a run for `key` is already in flight,
    /// in which case its result is shared. Returns the value and whether
    /// this call joined an existing run. `Err` carries a panic message.
    pub async fn run<F, Fut>(&self, key: K, work: F) -> (Result<V, String>, bool)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V> + Send + 'static,
    {
        let (shared, joined) = {
            let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(existing) = map.get(&key) {
                (existing.clone(), true)
            } else {
                let in_flight = Arc::clone(&self.in_flight);
                let task_key = key.clone();
                let fut = work();
                // The task removes its own entry once done; it cannot do so
                // before the entry is inserted because we hold the lock.
                let handle = tokio::spawn(async move {
                    let value = fut.await;
                    in_flight
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&task_key);
                    value
                });
                let in_flight = Arc::clone(&self.in_flight);
                let panic_key = key.clone();
                let shared = async move {
                    handle.await.map_err(|e| {
                        // A panicking task never reached its own removal.
                        in_flight
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&panic_key);
                        e.to_string()
                    })
                }
                .boxed()
                .shared();
                map.insert(key, shared.clone());
                (shared, false)
            }
        };
        (shared.await, joined)
    }

    /// Runs in flight now.
    pub fn len(&self) -> usize {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Something that knows its own size in bytes, for the cache's weigher.
pub trait Weighed {
    fn weight(&self) -> usize;
}

impl Weighed for bytes::Bytes {
    fn weight(&self) -> usize {
        self.len()
    }
}

/// A byte-bounded cache with a time to live. Capacity 0 turns it off.
#[derive(Clone)]
pub struct ByteCache<V: Clone + Send + Sync + 'static> {
    inner: Option<moka::future::Cache<String, V>>,
}

impl<V> ByteCache<V>
where
    V: Weighed + Clone + Send + Sync + 'static,
{
    pub fn new(capacity_bytes: u64, ttl: Duration) -> ByteCache<V> {
        let inner = (capacity_bytes > 0).then(|| {
            moka::future::Cache::builder()
                .max_capacity(capacity_bytes)
                // Keys are small next to images; weigh the value and a
                // little for the key, saturating at u32::MAX.
                .weigher(|key: &String, value: &V| {
                    u32::try_from(key.len() + value.weight()).unwrap_or(u32::MAX)
                })
                .time_to_live(ttl)
                .build()
        });
        ByteCache { inner }
    }

    pub async fn get(&self, key: &str) -> Option<V> {
        match &self.inner {
            Some(cache) => cache.get(key).await,
            None => None,
        }
    }

    pub async fn insert(&self, key: String, value: V) {
        if let Some(cache) = &self.inner {
            cache.insert(key, value).await;
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }
}

/// How a [`Tier`] answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// From the cache.
    Hit,
    /// Joined an identical run already in flight.
    Joined,
    /// Ran the work.
    Ran,
}

/// One cache tier: a [`ByteCache`] in front of a [`SingleFlight`], counted
/// in the metrics under its label (`result`, `source`). Successes are
/// stored by the run itself, so a value reaches the cache even when every
/// waiter has hung up, if the tier's [`Admission`] lets them in; errors are
/// never stored.
pub struct Tier<V, E>
where
    V: Clone + Send + Sync + 'static,
{
    /// The `cache` label of its hit and miss counters.
    label: &'static str,
    cache: ByteCache<V>,
    flights: SingleFlight<String, Result<V, E>>,
    /// `None`: every success is stored ([`Admission::First`]).
    doorkeeper: Option<Doorkeeper>,
}

impl<V, E> Tier<V, E>
where
    V: Weighed + Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    /// A tier of `capacity_bytes` (0 = no cache, runs are still merged)
    /// that stores what missed as `admission` says.
    pub fn new(label: &'static str, capacity_bytes: u64, ttl: Duration, admission: Admission) -> Tier<V, E> {
        let cache = ByteCache::new(capacity_bytes, ttl);
        Tier {
            label,
            doorkeeper: cache.is_enabled().then(|| admission.doorkeeper()).flatten(),
            cache,
            flights: SingleFlight::default(),
        }
    }

    /// The cached value for `key`, else the value of the run in flight for
    /// it, else the value of `work()`, stored when it succeeds. `Err` of the
    /// outer result is a panic message from the run.
    pub async fn get_or_run<F, Fut>(
        &self,
        key: String,
        metrics: &Metrics,
        work: F,
    ) -> (Result<Result<V, E>, String>, Outcome)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        self.get_or_refresh(key, metrics, |_| true, move |_| work()).await
    }

    /// As [`Tier::get_or_run`], for values that go stale before they leave
    /// the cache: a cached value that `is_fresh` refuses is handed to
    /// `work` (which may revalidate it rather than redo it), and identical
    /// concurrent requests share that one run. A stale hit counts as a miss,
    /// and what refreshes it is stored whatever the admission (the key was
    /// admitted before).
    pub async fn get_or_refresh<F, Fut>(
        &self,
        key: String,
        metrics: &Metrics,
        is_fresh: impl Fn(&V) -> bool,
        work: F,
    ) -> (Result<Result<V, E>, String>, Outcome)
    where
        F: FnOnce(Option<V>) -> Fut,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        let label = CacheLabel { cache: self.label };
        let stale = match self.cache.get(&key).await {
            Some(hit) if is_fresh(&hit) => {
                metrics.cache_hits.get_or_create(&label).inc();
                return (Ok(Ok(hit)), Outcome::Hit);
            }
            other => other,
        };
        if self.cache.is_enabled() {
            metrics.cache_misses.get_or_create(&label).inc();
        }
        let admit = stale.is_some() || self.doorkeeper.as_ref().is_none_or(|seen| seen.seen_before(&key));
        if self.cache.is_enabled() && !admit {
            metrics.cache_unadmitted.get_or_create(&label).inc();
        }
        let cache = self.cache.clone();
        let store_key = key.clone();
        let (result, joined) = self
            .flights
            .run(key, move || {
                let work = work(stale);
                async move {
                    let value = work.await?;
                    if admit {
                        cache.insert(store_key, value.clone()).await;
                    }
                    Ok(value)
                }
            })
            .await;
        (result, if joined { Outcome::Joined } else { Outcome::Ran })
    }

    /// Runs in flight now.
    pub fn in_flight(&self) -> usize {
        self.flights.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn identical_calls_run_once() {
        let flights: Arc<SingleFlight<&'static str, usize>> = Arc::new(SingleFlight::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let (go, gate) = tokio::sync::watch::channel(false);
        let mut waiters = Vec::new();
        for _ in 0..10 {
            let flights = Arc::clone(&flights);
            let runs = Arc::clone(&runs);
            let mut gate = gate.clone();
            waiters.push(tokio::spawn(async move {
                flights
                    .run("key", || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        let _ = gate.wait_for(|open| *open).await;
                        42
                    })
                    .await
            }));
        }
        while flights.is_empty() {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        go.send(true).unwrap();
        let mut joined = 0;
        for waiter in waiters {
            let (value, was_joined) = waiter.await.unwrap();
            assert_eq!(value.unwrap(), 42);
            joined += usize::from(was_joined);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(joined, 9);
        assert!(flights.is_empty());
    }

    #[tokio::test]
    async fn a_waiter_that_leaves_cancels_nothing() {
        let flights: Arc<SingleFlight<&'static str, usize>> = Arc::new(SingleFlight::default());
        let done = Arc::new(AtomicUsize::new(0));
        let first = {
            let flights = Arc::clone(&flights);
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                flights
                    .run("key", || async move {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        done.fetch_add(1, Ordering::SeqCst);
                        1
                    })
                    .await
            })
        };
        while flights.is_empty() {
            tokio::task::yield_now().await;
        }
        first.abort();
        let (value, joined) = flights.run("key", || async { 2 }).await;
        assert!(joined, "the second call joins the run the first one started");
        assert_eq!(value.unwrap(), 1);
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn panics_become_errors_and_free_the_key() {
        let flights: SingleFlight<&'static str, usize> = SingleFlight::default();
        let (value, _) = flights.run("key", || async { panic!("boom") }).await;
        assert!(value.is_err());
        assert!(flights.is_empty());
        let (value, joined) = flights.run("key", || async { 3 }).await;
        assert_eq!((value.unwrap(), joined), (3, false));
    }

    #[tokio::test]
    async fn byte_cache_is_bounded_and_can_be_off() {
        let off: ByteCache<bytes::Bytes> = ByteCache::new(0, Duration::from_secs(60));
        off.insert("a".into(), bytes::Bytes::from_static(b"x")).await;
        assert!(off.get("a").await.is_none());

        let on: ByteCache<bytes::Bytes> = ByteCache::new(1000, Duration::from_secs(60));
        on.insert("a".into(), bytes::Bytes::from(vec![0; 10])).await;
        assert_eq!(on.get("a").await.unwrap().len(), 10);
        // Larger than the whole cache: never admitted.
        on.insert("big".into(), bytes::Bytes::from(vec![0; 5000])).await;
        on.inner.as_ref().unwrap().run_pending_tasks().await;
        assert!(on.get("big").await.is_none());
    }

    #[tokio::test]
    async fn a_tier_stores_successes_only_and_counts_under_its_label() {
        let metrics = Metrics::new();
        let tier: Tier<bytes::Bytes, String> =
            Tier::new("source", 1000, Duration::from_secs(60), Admission::First);
        let runs = Arc::new(AtomicUsize::new(0));
        let run = |value: Result<&'static [u8], &'static str>| {
            let runs = Arc::clone(&runs);
            move || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                value.map(bytes::Bytes::from_static).map_err(str::to_owned)
            }
        };
        let (failed, outcome) = tier.get_or_run("a".into(), &metrics, run(Err("boom"))).await;
        assert_eq!((failed.unwrap(), outcome), (Err("boom".to_owned()), Outcome::Ran));
        let (value, outcome) = tier.get_or_run("a".into(), &metrics, run(Ok(b"x"))).await;
        assert_eq!(
            (value.unwrap().unwrap(), outcome),
            (bytes::Bytes::from_static(b"x"), Outcome::Ran)
        );
        let (value, outcome) = tier.get_or_run("a".into(), &metrics, run(Ok(b"y"))).await;
        assert_eq!(
            (value.unwrap().unwrap(), outcome),
            (bytes::Bytes::from_static(b"x"), Outcome::Hit)
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        let text = metrics.render();
        assert!(
            text.contains("resizer_cache_hits_total{cache=\"source\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("resizer_cache_misses_total{cache=\"source\"} 2"),
            "{text}"
        );
        assert_eq!(tier.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_stale_value_is_handed_to_the_run_that_refreshes_it() {
        let metrics = Metrics::new();
        let tier: Tier<bytes::Bytes, String> =
            Tier::new("source", 1000, Duration::from_secs(60), Admission::First);
        let (first, _) = tier
            .get_or_refresh(
                "a".into(),
                &metrics,
                |_| true,
                |stale| async move {
                    assert!(stale.is_none());
                    Ok(bytes::Bytes::from_static(b"old"))
                },
            )
            .await;
        assert_eq!(first.unwrap().unwrap(), bytes::Bytes::from_static(b"old"));
        // Fresh: a hit, the run is not called.
        let (hit, outcome) = tier
            .get_or_refresh(
                "a".into(),
                &metrics,
                |_| true,
                |_| async { Err("not called".to_owned()) },
            )
            .await;
        assert_eq!(
            (hit.unwrap().unwrap(), outcome),
            (bytes::Bytes::from_static(b"old"), Outcome::Hit)
        );
        // Stale: the run gets the cached value, and what it returns is stored.
        let (refreshed, outcome) = tier
            .get_or_refresh(
                "a".into(),
                &metrics,
                |v| v.as_ref() != b"old",
                |stale| async move {
                    assert_eq!(stale.as_deref(), Some(&b"old"[..]));
                    Ok(bytes::Bytes::from_static(b"new"))
                },
            )
            .await;
        assert_eq!(
            (refreshed.unwrap().unwrap(), outcome),
            (bytes::Bytes::from_static(b"new"), Outcome::Ran)
        );
        let (hit, outcome) = tier
            .get_or_run("a".into(), &metrics, || async { Err("no".to_owned()) })
            .await;
        assert_eq!(
            (hit.unwrap().unwrap(), outcome),
            (bytes::Bytes::from_static(b"new"), Outcome::Hit)
        );
        let text = metrics.render();
        assert!(
            text.contains("resizer_cache_misses_total{cache=\"source\"} 2"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn admission_on_the_second_request_stores_nothing_asked_for_once() {
        let metrics = Metrics::new();
        let tier: Tier<bytes::Bytes, String> =
            Tier::new("result", 1000, Duration::from_secs(60), Admission::Second);
        let runs = Arc::new(AtomicUsize::new(0));
        let run = |value: &'static [u8]| {
            let runs = Arc::clone(&runs);
            move || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(bytes::Bytes::from_static(value))
            }
        };
        // First request: run and answered, not stored.
        let (first, outcome) = tier.get_or_run("a".into(), &metrics, run(b"1")).await;
        assert_eq!(
            (first.unwrap().unwrap(), outcome),
            (bytes::Bytes::from_static(b"1"), Outcome::Ran)
        );
        // Other keys asked for once are not stored either.
        for key in ["b", "c", "d"] {
            tier.get_or_run(key.into(), &metrics, run(b"x"))
                .await
                .0
                .unwrap()
                .unwrap();
        }
        // Second request: run again, and stored.
        let (second, outcome) = tier.get_or_run("a".into(), &metrics, run(b"2")).await;
        assert_eq!(
            (second.unwrap().unwrap(), outcome),
            (bytes::Bytes::from_static(b"2"), Outcome::Ran)
        );
        // Third: a hit.
        let (third, outcome) = tier.get_or_run("a".into(), &metrics, run(b"3")).await;
        assert_eq!(
            (third.unwrap().unwrap(), outcome),
            (bytes::Bytes::from_static(b"2"), Outcome::Hit)
        );
        assert_eq!(runs.load(Ordering::SeqCst), 5);
        for key in ["b", "c", "d"] {
            assert!(tier.cache.get(key).await.is_none(), "{key} was asked for once");
        }
        let text = metrics.render();
        assert!(
            text.contains("resizer_cache_misses_total{cache=\"result\"} 5"),
            "{text}"
        );
        assert!(
            text.contains("resizer_cache_unadmitted_total{cache=\"result\"} 4"),
            "{text}"
        );
        assert!(
            text.contains("resizer_cache_hits_total{cache=\"result\"} 1"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_stale_value_is_refreshed_into_the_cache_whatever_the_admission() {
        let metrics = Metrics::new();
        let tier: Tier<bytes::Bytes, String> =
            Tier::new("source", 1000, Duration::from_secs(60), Admission::Second);
        for _ in 0..2 {
            let (stored, _) = tier
                .get_or_run("a".into(), &metrics, || async {
                    Ok(bytes::Bytes::from_static(b"old"))
                })
                .await;
            assert_eq!(stored.unwrap().unwrap(), bytes::Bytes::from_static(b"old"));
        }
        // A new doorkeeper forgets every key: only the stale value lets
        // the refresh in.
        let tier = Tier {
            doorkeeper: Some(Doorkeeper::new(16)),
            ..tier
        };
        let (refreshed, _) = tier
            .get_or_refresh(
                "a".into(),
                &metrics,
                |v| v.as_ref() != b"old",
                |stale| async move {
                    assert!(stale.is_some());
                    Ok(bytes::Bytes::from_static(b"new"))
                },
            )
            .await;
        assert_eq!(refreshed.unwrap().unwrap(), bytes::Bytes::from_static(b"new"));
        assert_eq!(
            tier.cache.get("a").await.unwrap(),
            bytes::Bytes::from_static(b"new")
        );
    }

    #[tokio::test]
    async fn a_tier_without_cache_still_merges_runs_and_counts_no_misses() {
        let metrics = Metrics::new();
        let tier: Arc<Tier<bytes::Bytes, String>> =
            Arc::new(Tier::new("result", 0, Duration::from_secs(60), Admission::Second));
        let (go, gate) = tokio::sync::watch::channel(false);
        let first = {
            let tier = Arc::clone(&tier);
            let mut gate = gate.clone();
            tokio::spawn(async move {
                let metrics = Metrics::new();
                tier.get_or_run("k".into(), &metrics, move || async move {
                    let _ = gate.wait_for(|open| *open).await;
                    Ok(bytes::Bytes::from_static(b"1"))
                })
                .await
            })
        };
        while tier.in_flight() == 0 {
            tokio::task::yield_now().await;
        }
        // One poll registers the second call with the run in flight.
        let second_metrics = Metrics::new();
        let second = tier.get_or_run("k".into(), &second_metrics, || async {
            Ok(bytes::Bytes::from_static(b"2"))
        });
        tokio::pin!(second);
        assert!(futures_util::poll!(second.as_mut()).is_pending());
        go.send(true).unwrap();
        let (b, second) = second.await;
        let (a, first) = first.await.unwrap();
        assert_eq!((first, second), (Outcome::Ran, Outcome::Joined));
        assert_eq!(a.unwrap().unwrap(), b.unwrap().unwrap());
        let (value, outcome) = tier
            .get_or_run("k".into(), &metrics, || async {
                Ok(bytes::Bytes::from_static(b"3"))
            })
            .await;
        assert_eq!(
            (value.unwrap().unwrap(), outcome),
            (bytes::Bytes::from_static(b"3"), Outcome::Ran)
        );
        assert!(!metrics.render().contains("cache_misses_total{"));
    }
}
