//! Serving under load: coalescing, backpressure, metrics, graceful shutdown.

use std::time::Duration;

use crate::support::*;

#[tokio::test]
async fn identical_concurrent_requests_hit_the_origin_once() {
    let mut config = config();
    config.cache_bytes = 0;
    config.source_cache_bytes = 0;
    let server = std::sync::Arc::new(Server::start(config).await);
    let origin = Origin::start().await;
    origin.add(
        "four.jpg",
        "image/jpeg",
        encode_jpeg(400, 200, &quadrants(400, 200)),
    );
    // The origin holds every answer for a while so all requests overlap.
    let path = format!("/w_150,h_500?url={}", origin.url("/img/four.jpg?delay_ms=500"));
    let mut requests = Vec::new();
    for _ in 0..100 {
        let server = std::sync::Arc::clone(&server);
        let path = path.clone();
        requests.push(tokio::spawn(async move {
            let response = server.get(&path).await;
            (response.status().as_u16(), response.bytes().await.unwrap().len())
        }));
    }
    for request in requests {
        let (status, length) = request.await.unwrap();
        assert_eq!(status, 200);
        assert!(length > 0);
    }
    assert_eq!(origin.hits("/img/four.jpg"), 1);
    let metrics = server.get("/metrics").await.text().await.unwrap();
    let coalesced: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("resizer_coalesced_requests_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(coalesced, 99, "{metrics}");
}

#[tokio::test]
async fn different_sizes_of_one_source_share_the_download() {
    let mut config = config();
    config.source_cache_bytes = 0;
    let server = std::sync::Arc::new(Server::start(config).await);
    let origin = Origin::start().await;
    origin.add(
        "four.jpg",
        "image/jpeg",
        encode_jpeg(400, 200, &quadrants(400, 200)),
    );
    let src = origin.url("/img/four.jpg?delay_ms=300");
    let mut requests = Vec::new();
    for width in 10..30 {
        let server = std::sync::Arc::clone(&server);
        let path = format!("/w_{width}?url={src}");
        requests.push(tokio::spawn(
            async move { server.get(&path).await.status().as_u16() },
        ));
    }
    for request in requests {
        assert_eq!(request.await.unwrap(), 200);
    }
    assert_eq!(origin.hits("/img/four.jpg"), 1);
}

#[tokio::test]
async fn a_full_queue_is_503_with_retry_after() {
    let mut config = config();
    config.concurrency = 1;
    config.max_queue = 0;
    config.cache_bytes = 0;
    let server = std::sync::Arc::new(Server::start(config).await);
    let origin = Origin::start().await;
    // Heavy enough that jobs overlap: a 2000x2000 source, blurred.
    origin.add(
        "big.png",
        "image/png",
        encode_png(2000, 2000, false, &quadrants(2000, 2000)),
    );
    let src = origin.url("/img/big.png");
    // Warm the source cache so all requests reach the pool together.
    assert_eq!(server.get(&format!("/w_10?url={src}")).await.status(), 200);
    let mut requests = Vec::new();
    for width in 0..8 {
        let server = std::sync::Arc::clone(&server);
        let path = format!("/w_{},e_blur:2000?url={src}", 1000 + width);
        requests.push(tokio::spawn(async move {
            let response = server.get(&path).await;
            let retry_after = response.headers().get("retry-after").cloned();
            (response.status().as_u16(), retry_after)
        }));
    }
    let mut overloaded = 0;
    for request in requests {
        let (status, retry_after) = request.await.unwrap();
        if status == 503 {
            overloaded += 1;
            assert!(retry_after.is_some(), "503 carries Retry-After");
        } else {
            assert_eq!(status, 200);
        }
    }
    assert!(
        overloaded > 0,
        "with one slot and no queue, some of 8 parallel jobs are refused"
    );
    assert_eq!(server.get("/health").await.status(), 200);
}

#[tokio::test]
async fn a_request_that_waits_past_max_queue_wait_is_503_with_retry_after() {
    // Issue 16: under overload a queued request is refused once it has waited
    // `max_queue_wait`, instead of waiting for the slot however long it takes.
    const WAIT: Duration = Duration::from_millis(300);
    const HOLD: Duration = Duration::from_secs(4);
    let mut config = config();
    config.concurrency = 1;
    config.max_queue_wait = Some(WAIT);
    config.processing_timeout = HOLD;
    config.cache_bytes = 0;
    let server = std::sync::Arc::new(Server::start(config).await);
    let origin = Origin::start().await;
    origin.add("dot.png", "image/png", encode_png(1, 1, false, &[200, 40, 40]));
    let src = origin.url("/img/dot.png");
    // The only slot is held until the processing deadline by a huge blur.
    let holder = {
        let server = std::sync::Arc::clone(&server);
        let path = format!("/w_8192,h_8190,e_blur:2000?url={src}");
        tokio::spawn(async move { server.get(&path).await })
    };
    // The holder takes the slot right after its download: wait for that, not
    // for a fixed time from the start (a busy machine may take longer to get
    // there, and then the request below would find the slot free).
    let downloaded = std::time::Instant::now();
    while origin.hits("/img/dot.png") == 0 {
        assert!(
            downloaded.elapsed() < Duration::from_secs(20),
            "the holder never downloaded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    let response = server.get(&format!("/w_10?url={src}")).await;
    let took = started.elapsed();
    assert_eq!(response.headers()["retry-after"], "1");
    assert_error(response, 503, "overloaded").await;
    assert!(took >= WAIT, "refused after {took:?}, before the bound");
    assert!(
        took < WAIT + Duration::from_millis(1500),
        "refused after {took:?}"
    );
    // The slot was held the whole time: the holder ends at its own deadline.
    assert_error(holder.await.unwrap(), 503, "processing_timeout").await;
    // Once the slot is free the same request is served.
    assert_eq!(server.get(&format!("/w_10?url={src}")).await.status(), 200);
    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("resizer_http_requests_total{status=\"503\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("resizer_queue_depth 0"), "{metrics}");
}

#[tokio::test]
async fn metrics_describe_the_traffic() {
    let server = Server::start(config()).await;
    let origin = Origin::start().await;
    origin.add(
        "four.png",
        "image/png",
        encode_png(200, 100, false, &quadrants(200, 100)),
    );
    let src = origin.url("/img/four.png");
    assert_eq!(server.get(&format!("/w_50?url={src}")).await.status(), 200);
    assert_eq!(server.get("/z_1?url=http://127.0.0.1/").await.status(), 400);
    let response = server.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    for expected in [
        "resizer_http_requests_total{status=\"200\"} 1",
        "resizer_http_requests_total{status=\"400\"} 1",
        "resizer_stage_duration_seconds_count{stage=\"fetch\"} 1",
        "resizer_stage_duration_seconds_count{stage=\"decode\"} 1",
        "resizer_stage_duration_seconds_count{stage=\"encode\"} 1",
        "resizer_stage_duration_seconds_count{stage=\"queue\"} 1",
        "resizer_cache_misses_total{cache=\"result\"} 1",
        "resizer_queue_depth 0",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in\n{text}");
    }
    assert!(text.contains("resizer_source_bytes_total"));
    assert!(text.contains("resizer_response_bytes_total"));
}

#[tokio::test]
async fn metrics_can_be_switched_off() {
    let mut config = config();
    config.metrics = resizer::config::MetricsAddr::Off;
    let server = Server::start(config).await;
    assert_eq!(server.get("/metrics").await.status(), 404);
}

#[tokio::test]
async fn request_ids_are_echoed() {
    let server = Server::start(config()).await;
    let response = server
        .client
        .get(server.url("/health"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");
    let response = server.get("/health").await;
    assert!(!response.headers()["x-request-id"].is_empty());
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight() {
    let mut server = Server::start(config()).await;
    let origin = Origin::start().await;
    origin.add(
        "four.png",
        "image/png",
        encode_png(200, 100, false, &quadrants(200, 100)),
    );
    let url = server.url(&format!("/w_50?url={}", origin.url("/img/four.png?delay_ms=700")));
    let client = server.client.clone();
    let in_flight = tokio::spawn(async move { client.get(&url).send().await.map(|r| r.status().as_u16()) });
    // Let the request reach the origin, then ask the server to stop.
    while origin.hits("/img/four.png") == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.shutdown();
    assert_eq!(
        in_flight.await.unwrap().unwrap(),
        200,
        "the request in flight completes"
    );
    let task = server.task.take().unwrap();
    let result = tokio::time::timeout(Duration::from_secs(5), task).await;
    assert!(
        matches!(result, Ok(Ok(Ok(())))),
        "serve returns cleanly: {result:?}"
    );
    // New connections are refused after shutdown.
    assert!(server.client.get(server.url("/health")).send().await.is_err());
}

/// Bytes of every answer to `paths` on `server`, in order.
async fn answers(server: &Server, paths: &[String]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for path in paths {
        let response = server.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        out.push(response.bytes().await.unwrap().to_vec());
    }
    out
}

#[tokio::test]
async fn renditions_of_a_hot_source_share_one_decode_and_the_same_bytes() {
    let origin = Origin::start().await;
    let photo = std::fs::read("tests/fixtures/photo-coffee.jpg").unwrap();
    origin.add("photo.jpg", "image/jpeg", photo);
    let src = origin.url("/img/photo.jpg");
    // Sizes, crops and formats of the 600x400 photo that all decode it at
    // 1/4 scale (150x100) with either build's shrink-on-load margin (1.5:
    // scales above 1/12; 2.5: scales up to 1/10).
    let paths: Vec<String> = [
        "w_60",
        "w_36,h_36,c_fill,g_auto",
        "w_60,f_webp",
        "w_55,e_grayscale",
        "w_57,h_200,c_pad,b_blue",
    ]
    .iter()
    .map(|t| format!("/{t}?url={src}"))
    .collect();

    let cached = Server::start(config()).await;
    let mut off = config();
    off.decode_cache_bytes = 0;
    let uncached = Server::start(off).await;
    let with_cache = answers(&cached, &paths).await;
    let without = answers(&uncached, &paths).await;
    assert!(with_cache == without, "the decode cache changed an output");

    let metrics = cached.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("resizer_cache_misses_total{cache=\"decode\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("resizer_cache_hits_total{cache=\"decode\"} 4"),
        "{metrics}"
    );
    let held = metrics
        .lines()
        .find_map(|l| l.strip_prefix("resizer_decode_cache_bytes "))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap();
    assert!(held > 0, "{metrics}");
    let off_metrics = uncached.get("/metrics").await.text().await.unwrap();
    assert!(!off_metrics.contains("cache=\"decode\""), "{off_metrics}");

    // Server-Timing says where the decode came from.
    let reused = cached.get(&format!("/w_58?url={src}")).await;
    assert!(
        server_timing(&reused).contains(";desc=cached, transform;"),
        "{}",
        server_timing(&reused)
    );
    let decoded = uncached.get(&format!("/w_58?url={src}")).await;
    assert!(
        !server_timing(&decoded).contains(";desc=cached, transform;"),
        "{}",
        server_timing(&decoded)
    );
}

#[tokio::test]
async fn the_default_admission_caches_from_the_second_request_on() {
    let mut config = config();
    config.cache_admission = resizer::Config::defaults().cache_admission;
    let server = Server::start(config).await;
    let origin = Origin::start().await;
    let photo = std::fs::read("tests/fixtures/photo-coffee.jpg").unwrap();
    for name in ["hot.jpg", "once-1.jpg", "once-2.jpg", "once-3.jpg"] {
        origin.add(name, "image/jpeg", photo.clone());
    }
    let metric = |text: &str, name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .map_or(0, |v| v.parse().unwrap())
    };

    // A stream of sources asked for once: each is served, none is kept.
    for name in ["once-1.jpg", "once-2.jpg", "once-3.jpg"] {
        let response = server
            .get(&format!("/w_60?url={}", origin.url(&format!("/img/{name}"))))
            .await;
        assert_eq!(response.status(), 200);
        assert!(
            server_timing(&response).ends_with("cache;desc=miss"),
            "{}",
            server_timing(&response)
        );
    }
    let metrics = server.get("/metrics").await.text().await.unwrap();
    for cache in ["result", "source", "decode"] {
        let label = format!("{{cache=\"{cache}\"}}");
        assert_eq!(
            metric(&metrics, &format!("resizer_cache_unadmitted_total{label}")),
            3,
            "{metrics}"
        );
    }
    assert_eq!(metric(&metrics, "resizer_decode_cache_bytes"), 0, "{metrics}");

    // One URL asked for three times: rendered twice (the second time it is
    // kept), then a hit; the source is downloaded twice, its decode made twice.
    let src = origin.url("/img/hot.jpg");
    let path = format!("/w_60?url={src}");
    let first = server.get(&path).await;
    assert!(
        server_timing(&first).contains("fetch;dur="),
        "{}",
        server_timing(&first)
    );
    let first = first.bytes().await.unwrap();
    let second = server.get(&path).await;
    assert!(
        server_timing(&second).ends_with("cache;desc=miss"),
        "{}",
        server_timing(&second)
    );
    assert!(
        !server_timing(&second).contains("desc=cached"),
        "{}",
        server_timing(&second)
    );
    let second = second.bytes().await.unwrap();
    let third = server.get(&path).await;
    assert_eq!(server_timing(&third), "cache;desc=hit");
    let third = third.bytes().await.unwrap();
    assert_eq!(
        first, second,
        "the same request gives the same bytes, kept or not"
    );
    assert_eq!(second, third);
    assert_eq!(origin.hits("/img/hot.jpg"), 2);

    // Another size of the now known source: its download and its decode
    // come from the caches.
    let other = server.get(&format!("/w_58?url={src}")).await;
    assert_eq!(other.status(), 200);
    assert!(
        server_timing(&other).contains("fetch;dur=0;desc=cached"),
        "{}",
        server_timing(&other)
    );
    assert!(
        server_timing(&other).contains(";desc=cached, transform;"),
        "{}",
        server_timing(&other)
    );
    assert_eq!(origin.hits("/img/hot.jpg"), 2);
    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(metric(&metrics, "resizer_decode_cache_bytes") > 0, "{metrics}");
    assert_eq!(
        metric(&metrics, "resizer_cache_hits_total{cache=\"decode\"}"),
        1,
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "resizer_cache_hits_total{cache=\"source\"}"),
        1,
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "resizer_cache_hits_total{cache=\"result\"}"),
        1,
        "{metrics}"
    );
}

#[tokio::test]
async fn a_changed_source_is_decoded_again_never_served_from_the_old_decode() {
    let mut config = config();
    config.cache_ttl = Duration::from_millis(300);
    let server = Server::start(config).await;
    let origin = Origin::start().await;
    let solid = |rgb: [u8; 3]| encode_jpeg(64, 48, &rgb.repeat(64 * 48));
    origin.add("photo.jpg", "image/jpeg", solid([250, 10, 10]));
    let src = origin.url("/img/photo.jpg");

    let red = server
        .get(&format!("/w_32?url={src}"))
        .await
        .bytes()
        .await
        .unwrap();
    decode(&red).assert_colour(16, 12, [250, 10, 10], 12);
    origin.add("photo.jpg", "image/jpeg", solid([10, 10, 250]));
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Another size (no result cache entry), same decoded size as before.
    let blue = server
        .get(&format!("/w_30?url={src}"))
        .await
        .bytes()
        .await
        .unwrap();
    decode(&blue).assert_colour(15, 11, [10, 10, 250], 12);
    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("resizer_cache_misses_total{cache=\"decode\"} 2"),
        "{metrics}"
    );
}

/// The `Server-Timing` header of a response.
fn server_timing(response: &reqwest::Response) -> String {
    response.headers()["server-timing"].to_str().unwrap().to_owned()
}
