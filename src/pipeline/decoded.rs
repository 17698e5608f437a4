//! The decode cache: a source decoded once serves its other renditions.
//!
//! A page asks for many sizes, crops and formats of one photo; each would
//! otherwise decode the same bytes again, which is most of a rendition's
//! cost. [`DecodeCache`] keeps decoded sources (after colour conversion to
//! sRGB, before any geometry) in memory, bounded in bytes, for the caller
//! (the HTTP layer) to hand to the [`super::Pipeline`] with the source's
//! bytes ([`DecodeCache::for_source`]).
//!
//! Outputs stay deterministic: an entry is a decode *at one decoded size*
//! (shrink-on-load scale), and a request reuses it only when a fresh decode
//! for that request would have that same size, so the same request gives
//! the same bytes whatever the cache holds. An entry also keeps the bytes it
//! was decoded from, and is used only for identical bytes (a changed source
//! is decoded again, whatever the key says); the caller's key only groups
//! entries. Under [`Admission::Second`] (the service's default) a source's
//! decodes are stored from its second request on, so a stream of different
//! photos never fills the cache; once it is full, TinyLFU keeps one-off
//! sources from pushing out the hot ones.

use std::sync::Arc;

use bytes::Bytes;

use super::Image;
use crate::admission::{Admission, Doorkeeper};

/// What a decode was asked to produce, as far as its pixels depend on the
/// request: the decoded size (the shrink-on-load scale) and whether every
/// frame was asked for. Two requests with the same `DecodedAs` get the same
/// pixels from the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecodedAs {
    pub width: u32,
    pub height: u32,
    pub every_frame: bool,
}

/// Decoded sizes kept per source: a page's renditions of one photo fall on
/// a few shrink-on-load scales (1/8, 1/4, 1/2, full for JPEG), so a few
/// decodes per source serve them all; the least recently added goes first.
const SIZES_PER_SOURCE: usize = 4;

/// Decoded sources under a byte budget; cheap to clone (one shared store).
#[derive(Clone)]
pub struct DecodeCache {
    /// `None` when the budget is 0 (the cache is off).
    store: Option<moka::sync::Cache<Arc<str>, Arc<Decodes>>>,
    /// Sources asked for before, under [`Admission::Second`].
    doorkeeper: Option<Arc<Doorkeeper>>,
}

impl std::fmt::Debug for DecodeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodeCache")
            .field("bytes", &self.weighted_bytes())
            .finish()
    }
}

/// The decodes of one source, and the bytes they were decoded from.
struct Decodes {
    source: Bytes,
    /// How each was decoded, and the decode; newest last.
    sizes: Vec<(DecodedAs, Arc<Image>)>,
}

impl Decodes {
    /// What an entry holds in memory: its source bytes (shared with the
    /// source cache while both keep them, counted here all the same) and
    /// every decode.
    fn weight(&self) -> u32 {
        let decoded: usize = self.sizes.iter().map(|(_, image)| image_bytes(image)).sum();
        u32::try_from(self.source.len().saturating_add(decoded)).unwrap_or(u32::MAX)
    }
}

fn image_bytes(image: &Image) -> usize {
    image.frames().iter().map(|frame| frame.data().len()).sum()
}

impl DecodeCache {
    /// A cache of at most `max_bytes` of source and decoded bytes (0: off)
    /// that stores a source's decodes as `admission` says.
    pub fn new(max_bytes: u64, admission: Admission) -> DecodeCache {
        let store = (max_bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_key: &Arc<str>, entry: &Arc<Decodes>| entry.weight())
                .build()
        });
        let doorkeeper = store
            .is_some()
            .then(|| admission.doorkeeper().map(Arc::new))
            .flatten();
        DecodeCache { store, doorkeeper }
    }

    /// A cache that keeps nothing.
    pub fn off() -> DecodeCache {
        DecodeCache {
            store: None,
            doorkeeper: None,
        }
    }

    /// Bytes held now (sources and decodes), as the cache weighs them.
    pub fn weighted_bytes(&self) -> u64 {
        self.store.as_ref().map_or(0, |store| {
            store.run_pending_tasks();
            store.weighted_size()
        })
    }

    /// The handle the pipeline uses for one source: `key` names the source
    /// (its URL or mount key), `bytes` are what was fetched. Counts as a
    /// request for the source under [`Admission::Second`].
    pub fn for_source(&self, key: &str, bytes: Bytes) -> Option<SourceDecodes> {
        let store = self.store.clone()?;
        let admits = self.doorkeeper.as_ref().is_none_or(|seen| seen.seen_before(key));
        Some(SourceDecodes {
            store,
            key: Arc::from(key),
            source: bytes,
            admits,
        })
    }
}

/// Whether a request was served from the decode cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeReuse {
    /// The decode was found.
    Hit,
    /// The source was decoded (and offered to the cache).
    Miss,
}

/// The decode cache seen from one source: look up and store decodes of
/// exactly these bytes.
#[derive(Clone)]
pub struct SourceDecodes {
    store: moka::sync::Cache<Arc<str>, Arc<Decodes>>,
    key: Arc<str>,
    source: Bytes,
    /// Whether [`SourceDecodes::put`] stores (the source was asked for
    /// before, or the cache admits on the first request).
    admits: bool,
}

impl SourceDecodes {
    /// Whether `entry` was decoded from this handle's bytes (the same
    /// buffer, or equal contents).
    fn same_source(&self, entry: &Decodes) -> bool {
        let (a, b) = (&entry.source, &self.source);
        (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
    }

    /// The decode of these bytes made as `size` says, if the cache holds it.
    pub fn get(&self, size: DecodedAs) -> Option<Arc<Image>> {
        let entry = self.store.get(&self.key)?;
        if !self.same_source(&entry) {
            return None;
        }
        entry
            .sizes
            .iter()
            .find(|(at, _)| *at == size)
            .map(|(_, image)| Arc::clone(image))
    }

    /// Whether this handle stores what it is offered.
    pub fn admits(&self) -> bool {
        self.admits
    }

    /// Offers the decode of these bytes at `size` to the cache (kept only
    /// if the handle [admits](SourceDecodes::admits) it). Decodes of other
    /// bytes under the same key are dropped (the source changed). Two
    /// requests adding sizes at once may keep only one of them: the other
    /// is decoded again next time.
    pub fn put(&self, size: DecodedAs, image: Arc<Image>) {
        if !self.admits {
            return;
        }
        let mut sizes = match self.store.get(&self.key) {
            Some(entry) if self.same_source(&entry) => entry.sizes.clone(),
            _ => Vec::new(),
        };
        sizes.retain(|(at, _)| *at != size);
        if sizes.len() >= SIZES_PER_SOURCE {
            sizes.remove(0);
        }
        sizes.push((size, image));
        let entry = Decodes {
            source: self.source.clone(),
            sizes,
        };
        self.store.insert(Arc::clone(&self.key), Arc::new(entry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Channels;

    fn at(width: u32, height: u32) -> DecodedAs {
        DecodedAs {
            width,
            height,
            every_frame: false,
        }
    }

    fn image(width: u32, height: u32, value: u8) -> Arc<Image> {
        let data = vec![value; (width * height * 3) as usize];
        Arc::new(Image::still(width, height, Channels::Rgb, data).unwrap())
    }

    #[test]
    fn a_decode_is_found_by_key_size_and_identical_bytes() {
        let cache = DecodeCache::new(1 << 20, Admission::First);
        let bytes = Bytes::from_static(b"source one");
        let handle = cache.for_source("a", bytes.clone()).unwrap();
        assert!(handle.get(at(4, 3)).is_none());
        handle.put(at(4, 3), image(4, 3, 7));
        let again = cache.for_source("a", bytes).unwrap();
        assert_eq!(again.get(at(4, 3)).unwrap().first().data()[0], 7);
        assert!(
            again.get(at(8, 6)).is_none(),
            "another decoded size is another decode"
        );
        // Equal contents in another buffer are the same source.
        let copy = cache
            .for_source("a", Bytes::from(b"source one".to_vec()))
            .unwrap();
        assert!(copy.get(at(4, 3)).is_some());
    }

    #[test]
    fn changed_bytes_under_the_same_key_are_never_served_the_old_decode() {
        let cache = DecodeCache::new(1 << 20, Admission::First);
        let old = cache.for_source("a", Bytes::from_static(b"version 1")).unwrap();
        old.put(at(4, 3), image(4, 3, 1));
        let new = cache.for_source("a", Bytes::from_static(b"version 2")).unwrap();
        assert!(new.get(at(4, 3)).is_none());
        new.put(at(2, 2), image(2, 2, 2));
        assert!(
            old.get(at(4, 3)).is_none(),
            "the new version replaced the old one's decodes"
        );
        assert!(new.get(at(2, 2)).is_some());
    }

    #[test]
    fn a_source_keeps_its_latest_sizes_and_the_budget_holds() {
        let cache = DecodeCache::new(1 << 20, Admission::First);
        let handle = cache.for_source("a", Bytes::from_static(b"s")).unwrap();
        for side in 1..=(SIZES_PER_SOURCE as u32 + 1) {
            handle.put(at(side, side), image(side, side, 0));
        }
        assert!(handle.get(at(1, 1)).is_none(), "the oldest size made room");
        for side in 2..=(SIZES_PER_SOURCE as u32 + 1) {
            assert!(handle.get(at(side, side)).is_some());
        }

        // 64 sources of 30 KB decodes in a 256 KB cache: never above the budget.
        let small = DecodeCache::new(256 * 1024, Admission::First);
        for k in 0..64 {
            let handle = small
                .for_source(&format!("s{k}"), Bytes::from(vec![k as u8; 100]))
                .unwrap();
            handle.put(at(100, 100), image(100, 100, k as u8));
            assert!(small.weighted_bytes() <= 256 * 1024);
        }
        assert!(small.weighted_bytes() > 0);
    }

    #[test]
    fn admission_on_the_second_request_keeps_nothing_of_a_source_asked_for_once() {
        let cache = DecodeCache::new(1 << 20, Admission::Second);
        for k in 0..8 {
            let handle = cache
                .for_source(&format!("once{k}"), Bytes::from_static(b"s"))
                .unwrap();
            assert!(!handle.admits());
            handle.put(at(10, 10), image(10, 10, 0));
        }
        assert_eq!(cache.weighted_bytes(), 0, "one-off sources are not kept");
        let first = cache.for_source("hot", Bytes::from_static(b"s")).unwrap();
        first.put(at(4, 3), image(4, 3, 1));
        assert!(first.get(at(4, 3)).is_none());
        // The source's second request stores its decode; later ones find it.
        let second = cache.for_source("hot", Bytes::from_static(b"s")).unwrap();
        assert!(second.admits());
        second.put(at(4, 3), image(4, 3, 2));
        let third = cache.for_source("hot", Bytes::from_static(b"s")).unwrap();
        assert_eq!(third.get(at(4, 3)).unwrap().first().data()[0], 2);
        assert!(cache.weighted_bytes() > 0);
    }

    #[test]
    fn a_zero_budget_is_off() {
        assert!(
            DecodeCache::new(0, Admission::Second)
                .for_source("a", Bytes::new())
                .is_none()
        );
        assert_eq!(DecodeCache::off().weighted_bytes(), 0);
    }
}
