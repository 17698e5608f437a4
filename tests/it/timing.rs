//! `Server-Timing` on image responses: the stages of a miss, a hit that
//! names only the cache, and requests that joined a run in flight.

use std::sync::Arc;

use crate::support::*;

/// The `Server-Timing` of a response, as `(name, dur, desc)` entries.
fn entries(response: &reqwest::Response) -> Vec<(String, Option<f64>, Option<String>)> {
    let value = response
        .headers()
        .get("server-timing")
        .unwrap_or_else(|| panic!("no Server-Timing on {}", response.url()))
        .to_str()
        .unwrap()
        .to_owned();
    value
        .split(',')
        .map(|entry| {
            let mut parts = entry.trim().split(';');
            let name = parts.next().unwrap().to_owned();
            let (mut dur, mut desc) = (None, None);
            for param in parts {
                match param.split_once('=') {
                    Some(("dur", v)) => dur = Some(v.parse().unwrap()),
                    Some(("desc", v)) => desc = Some(v.to_owned()),
                    other => panic!("unexpected parameter {other:?} in {value}"),
                }
            }
            (name, dur, desc)
        })
        .collect()
}

fn names(entries: &[(String, Option<f64>, Option<String>)]) -> Vec<&str> {
    entries.iter().map(|(name, _, _)| name.as_str()).collect()
}

fn dur(entries: &[(String, Option<f64>, Option<String>)], stage: &str) -> f64 {
    entries
        .iter()
        .find(|(name, _, _)| name == stage)
        .and_then(|(_, dur, _)| *dur)
        .unwrap_or_else(|| panic!("no {stage} duration in {entries:?}"))
}

fn cache(entries: &[(String, Option<f64>, Option<String>)]) -> &str {
    let (_, dur, desc) = entries.last().unwrap();
    assert_eq!(*dur, None);
    desc.as_deref().unwrap()
}

#[tokio::test]
async fn a_miss_shows_each_stage_and_a_hit_only_the_cache() {
    let server = Server::start(config()).await;
    let origin = Origin::start().await;
    origin.add(
        "four.jpg",
        "image/jpeg",
        encode_jpeg(400, 200, &quadrants(400, 200)),
    );
    let path = format!("/w_100,f_png?url={}", origin.url("/img/four.jpg?delay_ms=60"));
    let miss = server.get(&path).await;
    assert_eq!(miss.status(), 200);
    let timing = entries(&miss);
    assert_eq!(
        names(&timing),
        ["queue", "fetch", "decode", "transform", "encode", "cache"]
    );
    assert_eq!(cache(&timing), "miss");
    // The origin waits 60 ms before answering: the fetch took at least that.
    assert!(dur(&timing, "fetch") >= 55.0, "{timing:?}");
    for stage in ["queue", "decode", "transform", "encode"] {
        let ms = dur(&timing, stage);
        assert!((0.0..10_000.0).contains(&ms), "{stage}: {timing:?}");
    }
    assert!(dur(&timing, "decode") > 0.0, "{timing:?}");

    let hit = server.get(&path).await;
    assert_eq!(hit.status(), 200);
    assert_eq!(hit.headers()["server-timing"], "cache;desc=hit");

    // Another size of the same source: a result miss whose source came
    // from the source cache.
    let other = server
        .get(&format!(
            "/w_50,f_png?url={}",
            origin.url("/img/four.jpg?delay_ms=60")
        ))
        .await;
    let timing = entries(&other);
    assert_eq!(cache(&timing), "miss");
    let fetch = timing.iter().find(|(name, _, _)| name == "fetch").unwrap();
    assert_eq!((fetch.1, fetch.2.as_deref()), (Some(0.0), Some("cached")));
    assert_eq!(origin.hits("/img/four.jpg"), 1);

    // A 304 carries it too: DevTools shows it for revalidations.
    let etag = hit.headers()["etag"].clone();
    let revalidated = server
        .client
        .get(server.url(&path))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()["server-timing"], "cache;desc=hit");
}

#[tokio::test]
async fn requests_that_join_a_run_say_coalesced_with_its_figures() {
    let server = Arc::new(Server::start(config()).await);
    let origin = Origin::start().await;
    origin.add(
        "four.jpg",
        "image/jpeg",
        encode_jpeg(400, 200, &quadrants(400, 200)),
    );
    // The origin holds its answer so that every request overlaps the first.
    let path = format!("/w_120?url={}", origin.url("/img/four.jpg?delay_ms=400"));
    let mut requests = Vec::new();
    for _ in 0..8 {
        let server = Arc::clone(&server);
        let path = path.clone();
        requests.push(tokio::spawn(async move {
            let response = server.get(&path).await;
            assert_eq!(response.status(), 200);
            entries(&response)
        }));
    }
    let mut states = Vec::new();
    for request in requests {
        let timing = request.await.unwrap();
        assert_eq!(
            names(&timing),
            ["queue", "fetch", "decode", "transform", "encode", "cache"]
        );
        // The shared run's read, which waited for the origin.
        assert!(dur(&timing, "fetch") >= 350.0, "{timing:?}");
        states.push(cache(&timing).to_owned());
    }
    states.sort();
    let mut expected = vec!["coalesced".to_owned(); 7];
    expected.push("miss".to_owned());
    assert_eq!(states, expected);
    assert_eq!(origin.hits("/img/four.jpg"), 1);
}

#[tokio::test]
async fn errors_carry_no_timing_and_no_source_leaks_into_it() {
    let server = Server::start(config()).await;
    let origin = Origin::start().await;
    let missing = server
        .get(&format!("/w_10?url={}", origin.url("/img/none.jpg")))
        .await;
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().get("server-timing").is_none());
    origin.add("four.jpg", "image/jpeg", encode_jpeg(40, 20, &quadrants(40, 20)));
    let ok = server
        .get(&format!("/w_10?url={}", origin.url("/img/four.jpg")))
        .await;
    let value = ok.headers()["server-timing"].to_str().unwrap().to_owned();
    assert!(!value.contains("127.0.0.1") && !value.contains("four"), "{value}");
}
