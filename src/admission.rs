//! Cache admission: whether what missed is worth keeping.
//!
//! Under [`Admission::Second`] (the service's default) a result, source or
//! decode enters its cache on the second request for it, as a
//! [`Doorkeeper`] remembers. A stream of images asked for once (new
//! uploads, a CDN in front that keeps what it gets) then never fills the
//! caches, so the memory they would take stays free; whatever is asked for
//! again still gets in, one request later. Used by the result and source
//! tiers (`cache::Tier`) and by the decode cache (`pipeline::decoded`); it
//! knows nothing of either.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

/// When a value that missed enters its cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// On the key's first request.
    First,
    /// On the key's second request (within what the [`Doorkeeper`] remembers):
    /// the first request's work is done and answered, not stored.
    Second,
}

impl Admission {
    /// The doorkeeper this admission needs, if any (one per cache: keys of
    /// different caches are remembered apart).
    pub fn doorkeeper(self) -> Option<Doorkeeper> {
        match self {
            Admission::First => None,
            Admission::Second => Some(Doorkeeper::new(DOORKEEPER_SLOTS)),
        }
    }
}

/// Keys a [`Doorkeeper`] remembers at most (512 KiB of memory). A key is
/// forgotten when another one lands on its slot, so a key asked for again
/// within the last few tens of thousands of different keys is admitted.
pub const DOORKEEPER_SLOTS: usize = 1 << 16;

/// Remembers which keys were asked for recently, in a fixed table of key
/// hashes: no lock, no allocation after it is made, bounded whatever the
/// traffic. A key may be forgotten (its slot taken by another key: the
/// next request is treated as a first one) or, in the rare case of two
/// keys with equal 64-bit hashes, taken for seen: either way only what is
/// cached changes, never what is answered.
pub struct Doorkeeper {
    hasher: std::collections::hash_map::RandomState,
    slots: Box<[AtomicU64]>,
}

impl std::fmt::Debug for Doorkeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doorkeeper")
            .field("slots", &self.slots.len())
            .finish()
    }
}

impl Doorkeeper {
    /// A table of `slots` keys (rounded up to a power of two, at least 1).
    pub fn new(slots: usize) -> Doorkeeper {
        let slots = slots.max(1).next_power_of_two();
        Doorkeeper {
            // Seeded per process, so the slots a key lands on cannot be
            // chosen from outside to make others forgotten on purpose.
            hasher: std::collections::hash_map::RandomState::new(),
            slots: (0..slots).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Records `key`, and says whether it was recorded before (and not
    /// forgotten since).
    pub fn seen_before(&self, key: &str) -> bool {
        // Never 0, which marks an empty slot.
        let tag = self.hasher.hash_one(key) | 1;
        let slot = &self.slots[(tag >> 1) as usize & (self.slots.len() - 1)];
        slot.swap(tag, Ordering::Relaxed) == tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_doorkeeper_says_seen_from_the_second_time_on() {
        let keeper = Doorkeeper::new(1024);
        assert!(!keeper.seen_before("a"));
        assert!(keeper.seen_before("a"));
        assert!(keeper.seen_before("a"));
        assert!(!keeper.seen_before("b"), "keys are remembered apart");
        assert!(keeper.seen_before("a"));
        // Tables are powers of two, and a table of one slot remembers the
        // last key only: the next key takes its slot.
        assert_eq!(Doorkeeper::new(1000).slots.len(), 1024);
        let one = Doorkeeper::new(0);
        assert_eq!(one.slots.len(), 1);
        assert!(!one.seen_before("a"));
        assert!(!one.seen_before("b"));
        assert!(!one.seen_before("a"), "forgotten when `b` took its slot");
        assert!(one.seen_before("a"));
    }
}
