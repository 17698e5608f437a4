//! `/info`: the `fl_getinfo` document of a `?url=` source, of a mount's
//! object and of the playground's samples, under the image path's checks.

use resizer::source::parse_mounts;

use crate::support::*;

async fn json(response: reqwest::Response) -> serde_json::Value {
    assert_eq!(response.status(), 200, "{}", response.url());
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("etag"));
    assert!(response.headers().contains_key("server-timing"));
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn describes_a_url_source_with_and_without_a_transformation() {
    let server = Server::start(config()).await;
    let origin = Origin::start().await;
    let jpeg = encode_jpeg(400, 200, &quadrants(400, 200));
    origin.add("four.jpg", "image/jpeg", jpeg.clone());
    let src = origin.url("/img/four.jpg");

    let plain = json(server.get(&format!("/info?url={src}")).await).await;
    assert_eq!(plain["input"]["format"], "jpeg");
    assert_eq!(
        (
            plain["input"]["width"].as_u64(),
            plain["input"]["height"].as_u64()
        ),
        (Some(400), Some(200))
    );
    assert_eq!(plain["input"]["bytes"].as_u64(), Some(jpeg.len() as u64));
    assert_eq!(plain["input"]["orientation"], 1);
    assert_eq!(plain["input"]["alpha"], false);
    assert_eq!(plain["input"]["animated"], false);
    assert_eq!(plain["input"]["colour_profile"], false);
    assert_eq!(plain["output"]["width"], 400);

    let sized = json(server.get(&format!("/info/w_100,f_png?url={src}")).await).await;
    assert_eq!(sized["input"], plain["input"]);
    assert_eq!(sized["output"]["format"], "png");
    assert_eq!(
        (
            sized["output"]["width"].as_u64(),
            sized["output"]["height"].as_u64()
        ),
        (Some(100), Some(50))
    );
    assert_eq!(sized["output"]["frames"], 1);
    let image = server.get(&format!("/w_100,f_png?url={src}")).await;
    let bytes = image.bytes().await.unwrap();
    assert_eq!(sized["output"]["bytes"].as_u64(), Some(bytes.len() as u64));
    // The image is cached under its own key: asked again, still an image.
    let again = server.get(&format!("/w_100,f_png?url={src}")).await;
    assert_eq!(again.headers()["content-type"], "image/png");
    // fl_getinfo in the path gives the same document.
    let flagged = json(
        server
            .get(&format!("/info/w_100,f_png,fl_getinfo?url={src}"))
            .await,
    )
    .await;
    assert_eq!(flagged, sized);

    let head = server
        .client
        .head(server.url(&format!("/info/w_100,f_png?url={src}")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "application/json");
    assert!(head.bytes().await.unwrap().is_empty());
    assert_eq!(origin.hits("/img/four.jpg"), 1);

    // A tagged source names its profile.
    let p3 = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/display-p3.jpg"
    ))
    .unwrap();
    origin.add("p3.jpg", "image/jpeg", p3);
    let doc = json(
        server
            .get(&format!("/info?url={}", origin.url("/img/p3.jpg")))
            .await,
    )
    .await;
    assert_eq!(doc["input"]["colour_profile"], true);
    assert_eq!(doc["input"]["colour_profile_name"], "Display P3");
    assert_eq!(plain["input"]["colour_profile_name"], serde_json::Value::Null);
}

#[tokio::test]
async fn describes_mount_objects_and_samples() {
    let folder = std::env::temp_dir().join(format!("resizer-info-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("q.png"),
        encode_png(40, 20, true, &vec![128; 40 * 20 * 4]),
    )
    .unwrap();
    let mut config = config();
    config.mounts = parse_mounts(&format!("disk=file://{}", folder.display())).unwrap();
    let server = Server::start(config).await;

    let doc = json(server.get("/info/disk/q.png").await).await;
    assert_eq!(doc["input"]["format"], "png");
    assert_eq!(doc["input"]["alpha"], true);
    assert_eq!(doc["input"]["width"], 40);
    let doc = json(server.get("/info/w_10,f_webp/disk/q.png").await).await;
    assert_eq!(
        (doc["output"]["format"].as_str(), doc["output"]["width"].as_u64()),
        (Some("webp"), Some(10))
    );

    let sample = json(server.get("/info/playground/samples/coffee.jpg").await).await;
    assert_eq!(sample["input"]["format"], "jpeg");
    assert_eq!(
        (
            sample["input"]["width"].as_u64(),
            sample["input"]["height"].as_u64()
        ),
        (Some(600), Some(400))
    );
    let badge = json(server.get("/info/w_64/playground/samples/badge.png").await).await;
    assert_eq!(badge["input"]["alpha"], true);
    assert_eq!(badge["output"]["width"], 64);

    assert_error(server.get("/info/disk/none.png").await, 404, "source_not_found").await;
    assert_error(server.get("/info/w_10/nomount/q.png").await, 404, "unknown_mount").await;
    assert_error(server.get("/info/disk/..%2Fq.png").await, 400, "invalid_key").await;
    let _ = std::fs::remove_dir_all(&folder);
}

#[tokio::test]
async fn refuses_what_the_image_path_refuses() {
    let server = Server::start(config()).await;
    let origin = Origin::start().await;
    origin.add("four.jpg", "image/jpeg", encode_jpeg(40, 20, &quadrants(40, 20)));
    let src = origin.url("/img/four.jpg");
    let message = assert_error(
        server.get(&format!("/info/w_0?url={src}")).await,
        400,
        "invalid_token",
    )
    .await;
    assert!(message.contains("w_0"), "{message}");
    assert_error(server.get("/info/w_10").await, 400, "missing_url").await;
    assert_error(server.get("/info").await, 400, "missing_url").await;
    assert_error(
        server
            .get(&format!("/info?url={}", origin.url("/img/none.jpg")))
            .await,
        404,
        "source_not_found",
    )
    .await;
    assert_error(
        server.get("/info?url=ftp://example.com/a.jpg").await,
        400,
        "unsupported_scheme",
    )
    .await;
    origin.add("text.jpg", "image/jpeg", b"not an image at all".to_vec());
    assert_error(
        server
            .get(&format!("/info?url={}", origin.url("/img/text.jpg")))
            .await,
        415,
        "unsupported_format",
    )
    .await;
    assert_error(server.get("/info/a/b").await, 404, "not_found").await;

    // The guard: without the private-network exception, a loopback source is refused.
    let guarded = Server::start_exact(resizer::Config::defaults()).await;
    assert_error(
        guarded.get(&format!("/info?url={src}")).await,
        403,
        "private_address",
    )
    .await;

    let mut closed = config();
    closed.remote_urls = false;
    let closed = Server::start(closed).await;
    assert_error(
        closed.get(&format!("/info?url={src}")).await,
        403,
        "remote_urls_disabled",
    )
    .await;

    let mut small = config();
    small.max_src_pixels = 100;
    let small = Server::start(small).await;
    assert_error(
        small.get(&format!("/info?url={src}")).await,
        422,
        "source_too_many_pixels",
    )
    .await;
}

#[tokio::test]
async fn signed_like_any_path_and_never_with_the_image_signature() {
    let key = b"0123456789abcdef-info".to_vec();
    let mut config = config();
    config.signing_keys = vec![key.clone()];
    let server = Server::start(config).await;
    let origin = Origin::start().await;
    origin.add("four.jpg", "image/jpeg", encode_jpeg(40, 20, &quadrants(40, 20)));
    let src = origin.url("/img/four.jpg");
    let encoded: String = url::form_urlencoded::byte_serialize(src.as_bytes()).collect();

    assert_error(
        server.get(&format!("/info/w_10?url={encoded}")).await,
        403,
        "signature_missing",
    )
    .await;
    let image_signature = resizer::signing::sign(&key, "w_10", &src);
    assert_error(
        server
            .get(&format!("/info/w_10?url={encoded}&s={image_signature}"))
            .await,
        403,
        "signature_invalid",
    )
    .await;
    let signature = resizer::signing::sign(&key, "info/w_10", &src);
    let doc = json(
        server
            .get(&format!("/info/w_10?url={encoded}&s={signature}"))
            .await,
    )
    .await;
    assert_eq!(doc["output"]["width"], 10);
    let signature = resizer::signing::sign(&key, "info", &src);
    json(server.get(&format!("/info?url={encoded}&s={signature}")).await).await;
    // `resizer sign` writes the same signatures.
    let limits = resizer::options::GrammarLimits::default();
    let signed = resizer::convert::sign(&key, &format!("/info/w_10?url={encoded}"), &limits).unwrap();
    json(server.get(&signed).await).await;
    let signed = resizer::convert::sign(&key, &format!("/info?url={encoded}"), &limits).unwrap();
    json(server.get(&signed).await).await;
}
