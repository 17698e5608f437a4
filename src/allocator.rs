//! glibc's malloc, set for an image server at start (Linux with glibc only;
//! elsewhere nothing is changed).
//!
//! An image request allocates tens of megabytes (a decoded source, its
//! 16-bit copy, the output) and frees them when it ends. glibc's defaults
//! suit that badly in two ways, both measured under load (BENCHMARKS.md,
//! "The allocator's settings"):
//!
//! * one arena per thread that ever contended: with the runtime's and the
//!   pool's threads each keeping freed images, peak memory grows with the
//!   thread count. Two arenas ([`ARENAS`]) cost nothing measurable;
//! * giving memory back to the system whenever the free space on top of the
//!   heap passes a threshold that is below one request's buffers: the next
//!   request faults the same pages in again and the kernel zeroes them.
//!   The threshold is raised to
//!   [`TRIM_THRESHOLD`]; allocations from [`MMAP_THRESHOLD`] up are still
//!   mapped apart and returned whole when freed.
//!
//! A setting given in the environment (`MALLOC_ARENA_MAX`,
//! `MALLOC_TRIM_THRESHOLD_`, `MALLOC_MMAP_THRESHOLD_`, or any
//! `glibc.malloc.*` tunable in `GLIBC_TUNABLES`) is left as given.

/// Most malloc arenas (glibc's default: 8 per core).
pub const ARENAS: i32 = 2;

/// Free memory kept on top of a heap before any is given back.
pub const TRIM_THRESHOLD: i32 = 64 << 20;

/// Allocations at least this large are mapped on their own (glibc's own
/// adaptive threshold stops rising there).
pub const MMAP_THRESHOLD: i32 = 32 << 20;

/// What [`tune`] would set, given the environment: `(name, parameter, value)`
/// for each setting the environment does not already give.
fn settings(env: impl Fn(&str) -> Option<String>) -> Vec<(&'static str, i32, i32)> {
    let tunables = env("GLIBC_TUNABLES").unwrap_or_default();
    if tunables.contains("glibc.malloc.") {
        return Vec::new();
    }
    // mallopt's parameter numbers (malloc.h), the same on every glibc target.
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    const M_ARENA_MAX: i32 = -8;
    [
        ("MALLOC_ARENA_MAX", M_ARENA_MAX, ARENAS),
        ("MALLOC_TRIM_THRESHOLD_", M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        ("MALLOC_MMAP_THRESHOLD_", M_MMAP_THRESHOLD, MMAP_THRESHOLD),
    ]
    .into_iter()
    .filter(|(name, _, _)| env(name).is_none())
    .collect()
}

/// Applies the settings; call first thing in `main`, before any thread
/// starts. Returns the names of the settings applied.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn tune() -> Vec<&'static str> {
    let mut applied = Vec::new();
    for (name, parameter, value) in settings(|name| std::env::var(name).ok()) {
        // SAFETY: mallopt takes two integers and changes allocator
        // parameters under glibc's own lock; no pointer is involved.
        if unsafe { libc::mallopt(parameter, value) } == 1 {
            applied.push(name);
        }
    }
    applied
}

/// Other platforms keep their allocator's defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() -> Vec<&'static str> {
    let _ = settings;
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn every_setting_unless_the_environment_gives_it() {
        let names = |pairs: &[(&str, &str)]| -> Vec<&'static str> {
            settings(env(pairs))
                .into_iter()
                .map(|(name, _, _)| name)
                .collect()
        };
        assert_eq!(
            settings(env(&[])),
            vec![
                ("MALLOC_ARENA_MAX", -8, 2),
                ("MALLOC_TRIM_THRESHOLD_", -1, 64 << 20),
                ("MALLOC_MMAP_THRESHOLD_", -3, 32 << 20),
            ]
        );
        assert_eq!(
            names(&[("MALLOC_ARENA_MAX", "4")]),
            ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"]
        );
        assert_eq!(
            names(&[("MALLOC_TRIM_THRESHOLD_", "0")]),
            ["MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_"]
        );
        assert!(names(&[("GLIBC_TUNABLES", "glibc.malloc.arena_max=1")]).is_empty());
        assert_eq!(
            names(&[("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=512")]).len(),
            3
        );
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_takes_the_settings() {
        // mallopt answers 1 for a parameter it accepted; the test process
        // may have the variables set, so only what was applied is checked.
        let applied = tune();
        let expected: Vec<_> = settings(|name| std::env::var(name).ok())
            .into_iter()
            .map(|(name, _, _)| name)
            .collect();
        assert_eq!(applied, expected);
    }
}
