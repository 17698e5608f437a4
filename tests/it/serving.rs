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
