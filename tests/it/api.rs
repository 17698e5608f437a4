//! The old API and the transformation grammar, end to end.

use crate::support::*;

async fn setup() -> (Server, Origin) {
    let origin = Origin::start().await;
    origin.add(
        "four.png",
        "image/png",
        encode_png(200, 100, false, &quadrants(200, 100)),
    );
    origin.add(
        "four.jpg",
        "image/jpeg",
        encode_jpeg(200, 100, &quadrants(200, 100)),
    );
    origin.add(
        "square.jpg",
        "image/jpeg",
        encode_jpeg(1000, 1000, &quadrants(1000, 1000)),
    );
    (Server::start(config()).await, origin)
}

#[tokio::test]
async fn health_answers_ok() {
    let server = Server::start(config()).await;
    let response = server.get("/health").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(response.text().await.unwrap(), "OK");
}

#[tokio::test]
async fn the_old_url_form_resizes_exactly() {
    let (server, origin) = setup().await;
    // Unencoded, exactly as the old service was called.
    let response = server
        .get(&format!("/w_150,h_500?url={}", origin.url("/img/square.jpg")))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let length: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = response.bytes().await.unwrap();
    assert_eq!(bytes.len(), length);
    let image = decode(&bytes);
    assert_eq!((image.width, image.height), (150, 500));
    image.assert_colour(10, 10, RED, 40);
    image.assert_colour(140, 490, YELLOW, 40);
}

#[tokio::test]
async fn a_percent_encoded_url_works_too() {
    let (server, origin) = setup().await;
    let encoded: String =
        url::form_urlencoded::byte_serialize(origin.url("/img/four.png").as_bytes()).collect();
    let response = server.get(&format!("/w_100?url={encoded}")).await;
    assert_eq!(response.status(), 200);
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.format, image.width, image.height), ("png", 100, 50));
}

#[tokio::test]
async fn head_sends_the_headers_without_a_body() {
    let (server, origin) = setup().await;
    let url = server.url(&format!("/w_50?url={}", origin.url("/img/four.png")));
    let get = server.client.get(&url).send().await.unwrap();
    let get_length = get.headers()["content-length"].clone();
    let get_etag = get.headers()["etag"].clone();
    let head = server.client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "image/png");
    assert_eq!(head.headers()["content-length"], get_length);
    assert_eq!(head.headers()["etag"], get_etag);
    assert!(head.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn every_crop_mode_gives_the_sizes_of_the_table() {
    let (server, origin) = setup().await;
    // Source 200x100.
    let cases: &[(&str, (u32, u32))] = &[
        ("w_100,h_100", (100, 100)),
        ("w_100", (100, 50)),
        ("h_50", (100, 50)),
        ("w_0.5", (100, 50)),
        ("c_fit,w_100,h_100", (100, 50)),
        ("c_fit,w_400,h_400", (400, 200)),
        ("c_limit,w_400,h_400", (200, 100)),
        ("c_limit,w_100,h_100", (100, 50)),
        ("c_fill,w_100,h_100", (100, 100)),
        ("c_fill,w_400,h_50", (400, 50)),
        ("c_lfill,w_400,h_50", (200, 50)),
        ("c_lfill,w_400,h_400", (200, 100)),
        ("c_pad,w_100,h_100", (100, 100)),
        ("c_lpad,w_400,h_400", (400, 400)),
        ("c_crop,w_50,h_50", (50, 50)),
        ("c_crop,w_50", (50, 100)),
        ("c_thumb,w_50,h_50", (50, 50)),
        ("w_100,h_100,dpr_2", (200, 200)),
        ("c_scale,w_50,dpr_1.5", (75, 38)),
        ("", (200, 100)),
    ];
    for (transformation, expected) in cases {
        let path = format!("/{transformation}?url={}", origin.url("/img/four.png"));
        let path = if transformation.is_empty() {
            format!("/?url={}", origin.url("/img/four.png"))
        } else {
            path
        };
        let response = server.get(&path).await;
        assert_eq!(response.status(), 200, "{transformation}");
        let image = decode(&response.bytes().await.unwrap());
        assert_eq!((image.width, image.height), *expected, "{transformation}");
    }
}

#[tokio::test]
async fn gravity_and_offsets_pick_the_right_region() {
    let (server, origin) = setup().await;
    let src = origin.url("/img/four.png");
    // (transformation, points to check as (x, y, colour))
    type Point = (u32, u32, [u8; 3]);
    let cases: &[(&str, &[Point])] = &[
        (
            "c_fill,w_100,h_100,g_west",
            &[(10, 10, RED), (10, 90, BLUE), (90, 10, RED)],
        ),
        ("c_fill,w_100,h_100,g_east", &[(10, 10, GREEN), (90, 90, YELLOW)]),
        ("c_crop,w_50,h_50,g_north_west", &[(5, 5, RED), (45, 45, RED)]),
        (
            "c_crop,w_50,h_50,g_south_east",
            &[(5, 5, YELLOW), (45, 45, YELLOW)],
        ),
        ("c_crop,w_50,h_50,g_north_east", &[(25, 25, GREEN)]),
        ("c_crop,w_40,h_40,x_150,y_55", &[(5, 5, YELLOW), (35, 35, YELLOW)]),
        ("c_crop,w_40,h_40,x_10,y_55", &[(20, 20, BLUE)]),
    ];
    for (transformation, points) in cases {
        let response = server.get(&format!("/{transformation}?url={src}")).await;
        assert_eq!(response.status(), 200, "{transformation}");
        let image = decode(&response.bytes().await.unwrap());
        for &(x, y, colour) in points.iter() {
            image.assert_colour(x, y, colour, 8);
        }
    }
}

#[tokio::test]
async fn pad_fills_with_the_background_around_the_gravity() {
    let (server, origin) = setup().await;
    let src = origin.url("/img/four.png");
    let response = server.get(&format!("/c_pad,w_200,h_200,b_black?url={src}")).await;
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.width, image.height), (200, 200));
    image.assert_colour(100, 10, [0, 0, 0], 8);
    image.assert_colour(100, 190, [0, 0, 0], 8);
    image.assert_colour(20, 70, RED, 8);
    image.assert_colour(180, 130, YELLOW, 8);

    let response = server
        .get(&format!("/c_pad,w_200,h_200,g_north,b_rgb:0000ff?url={src}"))
        .await;
    let image = decode(&response.bytes().await.unwrap());
    image.assert_colour(20, 20, RED, 8);
    image.assert_colour(100, 150, BLUE, 8);
    image.assert_colour(100, 195, BLUE, 8);
}

#[tokio::test]
async fn rotation_applies_after_orientation_and_before_sizes() {
    let (server, origin) = setup().await;
    let src = origin.url("/img/four.png");
    let response = server.get(&format!("/a_90?url={src}")).await;
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.width, image.height), (100, 200));
    // Rotated clockwise: the old bottom-left (blue) is now top-left.
    image.assert_colour(10, 10, BLUE, 8);
    image.assert_colour(90, 190, GREEN, 8);
    let response = server.get(&format!("/a_90,w_50?url={src}")).await;
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.width, image.height), (50, 100));
}

#[tokio::test]
async fn effects_change_the_pixels() {
    let (server, origin) = setup().await;
    let src = origin.url("/img/four.png");
    let response = server.get(&format!("/e_grayscale?url={src}")).await;
    let image = decode(&response.bytes().await.unwrap());
    let p = image.pixel(10, 10);
    assert!(
        p[0].abs_diff(p[1]) <= 2 && p[1].abs_diff(p[2]) <= 2,
        "{p:?} is not grey"
    );

    // Blur softens the edge between red and green at x = 100.
    let response = server.get(&format!("/e_blur:500?url={src}")).await;
    let image = decode(&response.bytes().await.unwrap());
    let edge = image.pixel(99, 25);
    assert!(edge[1] > 40 && edge[0] < 240, "edge {edge:?} is not blurred");
    image.assert_colour(10, 10, RED, 30);
}

#[tokio::test]
async fn canonical_plans_share_one_result() {
    let mut config = config();
    config.source_cache_bytes = 0;
    let server = Server::start(config).await;
    let origin = Origin::start().await;
    origin.add(
        "four.png",
        "image/png",
        encode_png(200, 100, false, &quadrants(200, 100)),
    );
    let src = origin.url("/img/four.png");
    let first = server.get(&format!("/w_150,h_500?url={src}")).await;
    assert_eq!(first.status(), 200);
    let second = server.get(&format!("/h_500,w_150?url={src}")).await;
    assert_eq!(second.status(), 200);
    assert_eq!(first.headers()["etag"], second.headers()["etag"]);
    assert_eq!(
        origin.hits("/img/four.png"),
        1,
        "the second request is a cache hit"
    );
    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("resizer_cache_hits_total{cache=\"result\"} 1"),
        "{metrics}"
    );
}
