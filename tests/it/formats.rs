//! Formats: sniffed inputs, every output format, negotiation, alpha,
//! animation, and the response headers of the README's "Output" section.

use crate::support::*;

async fn setup() -> (Server, Origin) {
    let origin = Origin::start().await;
    origin.add(
        "four.png",
        "image/png",
        encode_png(200, 100, false, &quadrants(200, 100)),
    );
    // Lying Content-Type: the format is sniffed from the bytes.
    origin.add(
        "four.bin",
        "application/octet-stream",
        encode_jpeg(200, 100, &quadrants(200, 100)),
    );
    // Left half opaque red, right half fully transparent.
    let mut alpha = Vec::new();
    for _y in 0..50 {
        for x in 0..100 {
            alpha.extend_from_slice(if x < 50 {
                &[255, 0, 0, 255]
            } else {
                &[0, 255, 0, 0]
            });
        }
    }
    origin.add("alpha.png", "image/png", encode_png(100, 50, true, &alpha));
    origin.add("anim.gif", "image/gif", encode_gif(40, 20, &[RED, GREEN, BLUE]));
    (Server::start(config()).await, origin)
}

#[tokio::test]
async fn every_output_format_has_its_content_type_and_size() {
    let (server, origin) = setup().await;
    let src = origin.url("/img/four.png");
    for (token, mime, format) in [
        ("f_jpg", "image/jpeg", "jpeg"),
        ("f_jpeg", "image/jpeg", "jpeg"),
        ("f_png", "image/png", "png"),
        ("f_webp", "image/webp", "webp"),
        ("f_gif", "image/gif", "gif"),
    ] {
        let response = server.get(&format!("/w_100,{token}?url={src}")).await;
        assert_eq!(response.status(), 200, "{token}");
        assert_eq!(response.headers()["content-type"], mime, "{token}");
        let image = decode(&response.bytes().await.unwrap());
        assert_eq!(
            (image.format, image.width, image.height),
            (format, 100, 50),
            "{token}"
        );
        image.assert_colour(10, 10, RED, 40);
        image.assert_colour(90, 40, YELLOW, 40);
    }
    let response = server.get(&format!("/w_100,f_avif?url={src}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/avif");
    assert_eq!(avif_size(&response.bytes().await.unwrap()), (100, 50));
}

#[tokio::test]
async fn the_source_format_is_sniffed_and_kept_by_default() {
    let (server, origin) = setup().await;
    let response = server
        .get(&format!("/w_50?url={}", origin.url("/img/four.bin")))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let response = server
        .get(&format!("/w_50?url={}", origin.url("/img/four.png")))
        .await;
    assert_eq!(response.headers()["content-type"], "image/png");
}

#[tokio::test]
async fn f_auto_negotiates_from_accept_and_alpha() {
    let (server, origin) = setup().await;
    let opaque = origin.url("/img/four.png");
    let transparent = origin.url("/img/alpha.png");
    let cases = [
        (&opaque, "image/avif,image/webp,*/*", "image/avif"),
        (&opaque, "image/webp,*/*;q=0.8", "image/webp"),
        (&opaque, "image/avif;q=0,image/webp", "image/webp"),
        (&opaque, "*/*", "image/jpeg"),
        (&opaque, "image/*", "image/jpeg"),
        (&transparent, "*/*", "image/png"),
        (&transparent, "image/webp", "image/webp"),
    ];
    for (src, accept, expected) in cases {
        let response = server
            .client
            .get(server.url(&format!("/w_40,f_auto?url={src}")))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], expected, "Accept: {accept}");
        assert_eq!(response.headers()["vary"], "Accept");
    }
    // Without f_auto there is no Vary.
    let response = server.get(&format!("/w_40?url={opaque}")).await;
    assert!(response.headers().get("vary").is_none());
}

#[tokio::test]
async fn transparency_is_flattened_onto_the_background_for_jpeg() {
    let (server, origin) = setup().await;
    let src = origin.url("/img/alpha.png");
    let response = server.get(&format!("/f_jpg?url={src}")).await;
    let image = decode(&response.bytes().await.unwrap());
    image.assert_colour(10, 25, RED, 10);
    image.assert_colour(90, 25, [255, 255, 255], 10);
    let response = server.get(&format!("/f_jpg,b_blue?url={src}")).await;
    let image = decode(&response.bytes().await.unwrap());
    image.assert_colour(90, 25, BLUE, 10);
    // PNG keeps the alpha.
    let response = server.get(&format!("/w_100?url={src}")).await;
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!(image.pixel(90, 25)[3], 0);
    assert_eq!(image.pixel(10, 25)[3], 255);
}

#[tokio::test]
async fn animations_keep_every_frame_when_the_format_can() {
    let (server, origin) = setup().await;
    let src = origin.url("/img/anim.gif");
    let response = server.get(&format!("/w_20?url={src}")).await;
    assert_eq!(response.headers()["content-type"], "image/gif");
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.width, image.height, image.frames), (20, 10, 3));
    image.assert_colour(5, 5, RED, 30);

    let response = server.get(&format!("/w_20,f_webp?url={src}")).await;
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.format, image.frames), ("webp", 3));

    let response = server.get(&format!("/w_20,f_png?url={src}")).await;
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.format, image.frames, image.width), ("png", 1, 20));
    image.assert_colour(5, 5, RED, 30);
}

#[tokio::test]
async fn animations_are_cut_to_the_frame_limit() {
    let mut config = config();
    config.max_animation_frames = 2;
    let server = Server::start(config).await;
    let origin = Origin::start().await;
    origin.add("anim.gif", "image/gif", encode_gif(40, 20, &[RED, GREEN, BLUE]));
    let src = origin.url("/img/anim.gif");
    // README, "Output": frames are transformed up to the limit; the rest are dropped.
    let response = server.get(&format!("/w_20?url={src}")).await;
    assert_eq!(response.status(), 200);
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!(image.frames, 2);
}

#[tokio::test]
async fn etag_cache_control_and_304() {
    let (server, origin) = setup().await;
    let url = server.url(&format!("/w_30?url={}", origin.url("/img/four.png")));
    let response = server.client.get(&url).send().await.unwrap();
    assert_eq!(response.headers()["cache-control"], "public, max-age=86400");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong ETag: {etag}"
    );
    let again = server
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());
    let other = server
        .client
        .get(&url)
        .header("if-none-match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}
