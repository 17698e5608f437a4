//! Every bad input of the README's "Errors" table gets its status, a JSON
//! body and `no-store`, and the server keeps serving.

use std::time::{Duration, Instant};

use crate::support::*;

async fn setup() -> (Server, Origin) {
    let origin = Origin::start().await;
    origin.add(
        "four.png",
        "image/png",
        encode_png(200, 100, false, &quadrants(200, 100)),
    );
    origin.add("text.txt", "image/jpeg", b"this is not an image at all".to_vec());
    (Server::start(config()).await, origin)
}

#[tokio::test]
async fn bad_tokens_are_400_naming_the_token() {
    let (server, origin) = setup().await;
    let src = origin.url("/img/four.png");
    let cases = [
        ("zz_3", "unknown_token", "zz_3"),
        // z_ is Cloudinary's zoom now: outside c_crop/c_thumb it is refused, naming it.
        ("z_3", "invalid_token", "z_3"),
        ("w_abc", "invalid_token", "w_abc"),
        ("w_0", "invalid_token", "w_0"),
        ("w_100,w_200", "repeated_token", "w_"),
        ("c_squash", "invalid_token", "c_squash"),
        ("q_101", "invalid_token", "q_101"),
        ("dpr_9", "invalid_token", "dpr_9"),
        ("w_9000", "dimension_too_large", "w_9000"),
        ("w_5000,dpr_2", "dimension_too_large", "w_5000"),
    ];
    for (transformation, code, named) in cases {
        let response = server.get(&format!("/{transformation}?url={src}")).await;
        let message = assert_error(response, 400, code).await;
        assert!(
            message.contains(named),
            "{transformation}: `{message}` does not name the token"
        );
    }
    assert_eq!(
        origin.total_hits(),
        0,
        "nothing is fetched for a bad transformation"
    );
}

#[tokio::test]
async fn missing_empty_and_invalid_urls_are_400() {
    let (server, _origin) = setup().await;
    assert_error(server.get("/w_100").await, 400, "missing_url").await;
    assert_error(server.get("/w_100?url=").await, 400, "missing_url").await;
    assert_error(server.get("/w_100?url=not%20a%20url").await, 400, "invalid_url").await;
    assert_error(
        server.get("/w_100?url=ftp://example.com/a.jpg").await,
        400,
        "unsupported_scheme",
    )
    .await;
    assert_error(
        server.get("/w_100?url=file:///etc/passwd").await,
        400,
        "unsupported_scheme",
    )
    .await;
}

#[tokio::test]
async fn origin_failures_map_to_404_and_502() {
    let (server, origin) = setup().await;
    let missing = origin.url("/img/nothing-here.jpg");
    assert_error(
        server.get(&format!("/w_10?url={missing}")).await,
        404,
        "source_not_found",
    )
    .await;
    let gone = origin.url("/status/410");
    assert_error(
        server.get(&format!("/w_10?url={gone}")).await,
        404,
        "source_not_found",
    )
    .await;
    let broken = origin.url("/status/500");
    assert_error(
        server.get(&format!("/w_10?url={broken}")).await,
        502,
        "upstream_error",
    )
    .await;
    let looping = origin.url("/redirect/0");
    assert_error(
        server.get(&format!("/w_10?url={looping}")).await,
        502,
        "too_many_redirects",
    )
    .await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let unreachable = format!("http://{closed}/a.jpg");
    assert_error(
        server.get(&format!("/w_10?url={unreachable}")).await,
        502,
        "upstream_unreachable",
    )
    .await;
}

#[tokio::test]
async fn a_source_that_is_not_an_image_is_415() {
    let (server, origin) = setup().await;
    let src = origin.url("/img/text.txt");
    assert_error(
        server.get(&format!("/w_10?url={src}")).await,
        415,
        "unsupported_format",
    )
    .await;
}

#[tokio::test]
async fn sources_over_the_byte_limit_are_413() {
    let mut config = config();
    config.max_src_bytes = 1000;
    let server = Server::start(config).await;
    let origin = Origin::start().await;
    origin.add("big.png", "image/png", vec![0; 5000]);
    let src = origin.url("/img/big.png");
    assert_error(
        server.get(&format!("/w_10?url={src}")).await,
        413,
        "source_too_large",
    )
    .await;
    // Chunked, no Content-Length: cut while streaming.
    let started = Instant::now();
    let src = origin.url("/endless");
    assert_error(
        server.get(&format!("/w_10?url={src}")).await,
        413,
        "source_too_large",
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn decompression_bombs_are_422_without_decoding() {
    let (server, origin) = setup().await;
    // A 20000x20000 PNG of zeros: 400 megapixels claimed by a small file.
    let bomb = pixel_bomb_png();
    assert!(
        bomb.len() < 2_000_000,
        "the bomb is small on the wire: {}",
        bomb.len()
    );
    origin.add("bomb.png", "image/png", bomb);
    let started = Instant::now();
    let src = origin.url("/img/bomb.png");
    let message = assert_error(
        server.get(&format!("/w_10?url={src}")).await,
        422,
        "source_too_many_pixels",
    )
    .await;
    assert!(message.contains("20000x20000"), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused in {:?}",
        started.elapsed()
    );

    // A JPEG header claiming 65000x65000.
    let mut jpeg = encode_jpeg(8, 8, &[128; 8 * 8 * 3]);
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
    origin.add("bomb.jpg", "image/jpeg", jpeg);
    let src = origin.url("/img/bomb.jpg");
    assert_error(
        server.get(&format!("/w_10?url={src}")).await,
        422,
        "source_too_many_pixels",
    )
    .await;
}

#[tokio::test]
async fn outputs_over_the_limit_are_422() {
    let mut config = config();
    config.max_dimension = 300;
    let server = Server::start(config).await;
    let origin = Origin::start().await;
    origin.add(
        "wide.png",
        "image/png",
        encode_png(400, 10, false, &vec![9; 400 * 10 * 3]),
    );
    let src = origin.url("/img/wide.png");
    // Known only once the source's size is known: the full width is 400.
    assert_error(
        server.get(&format!("/w_1.0?url={src}")).await,
        422,
        "output_too_large",
    )
    .await;
    // One side given: the other follows the aspect ratio, 400 wide.
    assert_error(
        server.get(&format!("/h_10?url={src}")).await,
        422,
        "output_too_large",
    )
    .await;
    // Within the limit: fine.
    let response = server.get(&format!("/w_300?url={src}")).await;
    assert_eq!(response.status(), 200);
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.width, image.height), (300, 8));
}

#[tokio::test]
async fn corrupt_images_are_422() {
    let (server, origin) = setup().await;
    let mut truncated = encode_jpeg(64, 64, &quadrants(64, 64));
    truncated.truncate(truncated.len() / 3);
    origin.add("truncated.jpg", "image/jpeg", truncated);
    let mut png = encode_png(64, 64, false, &quadrants(64, 64));
    let len = png.len();
    png[len - 40..len - 12].fill(0x55);
    origin.add("garbled.png", "image/png", png);
    for name in ["truncated.jpg", "garbled.png"] {
        let src = origin.url(&format!("/img/{name}"));
        assert_error(
            server.get(&format!("/w_10?url={src}")).await,
            422,
            "corrupt_image",
        )
        .await;
    }
    // Still serving.
    assert_eq!(server.get("/health").await.status(), 200);
}

#[tokio::test]
async fn slow_origins_are_504() {
    let mut config = config();
    config.download_timeout = Duration::from_secs(1);
    let server = Server::start(config).await;
    let origin = Origin::start().await;
    let started = Instant::now();
    let src = origin.url("/drip");
    assert_error(
        server.get(&format!("/w_10?url={src}")).await,
        504,
        "upstream_timeout",
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "cut off in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn long_urls_are_414() {
    let mut config = config();
    config.max_url_length = 100;
    let server = Server::start(config).await;
    let long = format!("/w_10?url=http://127.0.0.1/{}", "a".repeat(200));
    assert_error(server.get(&long).await, 414, "url_too_long").await;
}

#[tokio::test]
async fn too_many_tokens_are_400() {
    let mut config = config();
    config.max_tokens = 3;
    let server = Server::start(config).await;
    assert_error(
        server
            .get("/w_1,h_1,c_fill,g_north?url=http://127.0.0.1/a.jpg")
            .await,
        400,
        "too_many_tokens",
    )
    .await;
}

#[tokio::test]
async fn private_sources_are_refused_without_contact() {
    let origin = Origin::start().await;
    origin.add(
        "four.png",
        "image/png",
        encode_png(200, 100, false, &quadrants(200, 100)),
    );
    let server = Server::start_exact(resizer::Config::defaults()).await;
    let port = origin.addr.unwrap().port();
    for host in [
        "127.0.0.1",
        "localhost",
        "2130706433",
        "0x7f000001",
        "127.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
    ] {
        let src = format!("http://{host}:{port}/img/four.png");
        let response = server.get(&format!("/w_10?url={src}")).await;
        assert_eq!(response.status(), 403, "{host}");
    }
    for src in [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/a.jpg",
        "http://[fd00::1]/a.jpg",
    ] {
        let response = server.get(&format!("/w_10?url={src}")).await;
        assert_eq!(response.status(), 403, "{src}");
    }
    assert_eq!(origin.total_hits(), 0, "a refused source is never contacted");
}

#[tokio::test]
async fn allowed_sources_restrict_hosts() {
    let mut config = config();
    config.allowed_sources = vec!["*.example.com".into()];
    let server = Server::start(config).await;
    let origin = Origin::start().await;
    let src = origin.url("/img/four.png");
    assert_error(
        server.get(&format!("/w_10?url={src}")).await,
        403,
        "source_not_allowed",
    )
    .await;
    assert_eq!(origin.total_hits(), 0);
}

#[tokio::test]
async fn signatures_are_required_when_a_key_is_set() {
    let key = "a-signing-key-of-some-length";
    let mut config = config();
    config.signing_keys = vec![b"an-older-key-still-accepted".to_vec(), key.as_bytes().to_vec()];
    let server = Server::start(config).await;
    let origin = Origin::start().await;
    origin.add(
        "four.png",
        "image/png",
        encode_png(200, 100, false, &quadrants(200, 100)),
    );
    let src = origin.url("/img/four.png");
    let path = format!("/w_10?url={src}");
    assert_error(server.get(&path).await, 403, "signature_missing").await;
    assert_error(
        server.get(&format!("{path}&s=AAAA")).await,
        403,
        "signature_invalid",
    )
    .await;
    let signed = resizer::convert::sign(key.as_bytes(), &path, &Default::default()).unwrap();
    assert_eq!(server.get(&signed).await.status(), 200);
    // A signature for another transformation does not carry over.
    let other = signed.replacen("/w_10", "/w_11", 1);
    assert_error(server.get(&other).await, 403, "signature_invalid").await;
    // Health and metrics stay open.
    assert_eq!(server.get("/health").await.status(), 200);
    assert_eq!(server.get("/metrics").await.status(), 200);
}

#[tokio::test]
async fn unknown_paths_are_json_404() {
    let server = Server::start(config()).await;
    assert_error(server.get("/a/b/c").await, 404, "not_found").await;
}
