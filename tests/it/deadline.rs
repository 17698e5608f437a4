//! The processing deadline holds inside every stage (issue 17): a tiny
//! source asked for a huge output stops at `processing_timeout`, frees its
//! CPU slot, and the server serves the next request; work no deadline would
//! let finish is refused before it starts.

use std::time::{Duration, Instant};

use crate::support::*;

/// The deadline of these tests.
const DEADLINE: Duration = Duration::from_millis(300);

/// How long past the deadline an answer may come, on a loaded 2-core
/// machine: the stages stop within a row, and a library call that cannot be
/// interrupted is not started when it cannot end in time (before the fix
/// these requests took 2 s to 33 s).
const MARGIN: Duration = Duration::from_millis(1200);

#[tokio::test]
async fn huge_outputs_of_a_tiny_source_stop_at_the_deadline() {
    let origin = Origin::start().await;
    let mut config = config();
    config.processing_timeout = DEADLINE;
    // One slot: the next request is served only if the slot was freed.
    config.concurrency = 1;
    let server = Server::start(config).await;
    origin.add("dot.png", "image/png", encode_png(1, 1, false, &[200, 40, 40]));
    let src = origin.url("/img/dot.png");
    for transformation in [
        "w_2000,h_2000,f_avif",
        "w_8192,h_8190,e_blur:2000",
        "w_8192,h_8190,e_sharpen:2000,f_gif",
    ] {
        let started = Instant::now();
        let response = server.get(&format!("/{transformation}?url={src}")).await;
        let took = started.elapsed();
        assert_error(response, 503, "processing_timeout").await;
        assert!(took <= DEADLINE + MARGIN, "{transformation} took {took:?}");
        // The slot is free: a small request is served at once.
        let started = Instant::now();
        let response = server.get(&format!("/w_10?url={src}")).await;
        assert_eq!(response.status(), 200, "after {transformation}");
        assert!(started.elapsed() <= DEADLINE + MARGIN);
    }
}

#[tokio::test]
async fn work_no_deadline_allows_is_refused_before_it_starts() {
    let origin = Origin::start().await;
    let server = Server::start(config()).await;
    origin.add("dot.png", "image/png", encode_png(1, 1, false, &[200, 40, 40]));
    let src = origin.url("/img/dot.png");
    // 67 megapixels of AVIF: over a minute of rav1e, 33 s before the fix.
    let started = Instant::now();
    let response = server.get(&format!("/w_8192,h_8189,f_avif?url={src}")).await;
    let message = assert_error(response, 422, "unprocessable").await;
    assert!(message.contains("too much work"), "{message}");
    assert!(message.contains("megapixels"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // A thumbnail of the same is fine.
    let response = server.get(&format!("/w_64,h_64,f_avif?url={src}")).await;
    assert_eq!(response.status(), 200);
}
