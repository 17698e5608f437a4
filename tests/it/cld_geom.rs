//! Cloudinary's geometry parameters as Cloudinary's own SDK writes them: every row of
//! `tests/fixtures/cloudinary/params_geom.json` (made by `tools/cloudinary/urls_geom.py`
//! with the official Python SDK) is served through the real server as
//! `/{transformation}?url={local origin}` and checked against the status, size, format
//! and pixels that Cloudinary documents for it. The same rows, with their SDK-written
//! fetch URLs, serve the `/image/fetch/` form.

use serde_json::Value;

use crate::support::*;

fn fixture(path: &str) -> Vec<u8> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    std::fs::read(format!("{root}{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The table, checked for the shape the test relies on.
fn rows() -> Vec<Value> {
    let table: Value = serde_json::from_slice(&fixture("cloudinary/params_geom.json")).unwrap();
    let rows = table["rows"].as_array().unwrap().clone();
    assert!(rows.len() >= 40, "{} rows", rows.len());
    rows
}

/// Checks one pixel expectation: `rgba` channels that are `null` match anything; a
/// `null` expectation means opaque, whatever the colour.
fn check_pixel(name: &str, image: &Decoded, point: &Value) {
    let (x, y) = (
        point["x"].as_u64().unwrap() as u32,
        point["y"].as_u64().unwrap() as u32,
    );
    let tolerance = point["tolerance"].as_u64().unwrap() as u8;
    let actual = image.pixel(x, y);
    let expected: Vec<Option<u8>> = match point["rgba"].as_array() {
        Some(values) => values.iter().map(|v| v.as_u64().map(|n| n as u8)).collect(),
        None => vec![None, None, None, Some(255)],
    };
    for (channel, (want, got)) in expected.iter().zip(actual).enumerate() {
        if let Some(want) = want {
            assert!(
                want.abs_diff(got) <= tolerance,
                "{name}: pixel ({x}, {y}) is {actual:?}, channel {channel} should be {want} (±{tolerance})"
            );
        }
    }
}

#[tokio::test]
async fn sdk_transformations_give_the_documented_results() {
    let origin = Origin::start().await;
    origin.add(
        "quadrants.png",
        "image/png",
        encode_png(400, 200, false, &quadrants(400, 200)),
    );
    origin.add(
        "two-subjects.png",
        "image/png",
        encode_png(400, 200, false, &two_subjects()),
    );
    origin.add(
        "exif-orientation-6.jpg",
        "image/jpeg",
        fixture("exif-orientation-6.jpg"),
    );
    let server = Server::start(config()).await;
    let mut checked = 0;
    for row in rows() {
        let name = row["name"].as_str().unwrap();
        let transformation = row["transformation"].as_str().unwrap();
        let source = origin.url(&format!("/img/{}", row["source"].as_str().unwrap()));
        // The fetch URL the SDK wrote ends with the placeholder source and starts with
        // the same transformation: the table stays usable for the /image/fetch/ form.
        let fetch_url = row["fetch_url"].as_str().unwrap();
        let placeholder = row["source_placeholder"].as_str().unwrap();
        assert!(
            fetch_url.ends_with(&format!("/image/fetch/{transformation}/{placeholder}")),
            "{name}: {fetch_url}"
        );
        let expect = &row["expect"];
        // Both forms: resizer's own, and Cloudinary's fetch URL as the SDK
        // wrote it with the local origin in place of the placeholder.
        for path in [
            format!("/{transformation}?url={source}"),
            format!("/image/fetch/{transformation}/{source}"),
        ] {
            let response = server.get(&path).await;
            let status = expect["status"].as_u64().unwrap() as u16;
            if status != 200 {
                let message = assert_error(response, status, expect["code"].as_str().unwrap()).await;
                if let Some(token) = expect["names"].as_str() {
                    assert!(
                        message.contains(&format!("`{token}`")),
                        "{name}: {path}: {message}"
                    );
                }
                checked += 1;
                continue;
            }
            assert_eq!(response.status(), 200, "{name}: {path}");
            let bytes = response.bytes().await.unwrap();
            let image = decode(&bytes);
            assert_eq!(image.format, expect["format"].as_str().unwrap(), "{name}: {path}");
            assert_eq!(
                (image.width, image.height),
                (
                    expect["width"].as_u64().unwrap() as u32,
                    expect["height"].as_u64().unwrap() as u32
                ),
                "{name}: {path}"
            );
            for point in expect["pixels"].as_array().unwrap() {
                check_pixel(name, &image, point);
            }
            checked += 1;
        }
    }
    assert!(checked >= 80);
}

/// The parameters work in the mount form too: they are grammar, not routes.
#[tokio::test]
async fn geometry_tokens_work_in_the_mount_form() {
    let dir = std::env::temp_dir().join(format!("resizer-cld-geom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("q.png"),
        encode_png(400, 200, false, &quadrants(400, 200)),
    )
    .unwrap();
    let mut config = config();
    let target = url::Url::from_directory_path(&dir).unwrap();
    config.mounts = resizer::source::parse_mounts(&format!("disk={target}")).unwrap();
    let server = Server::start(config).await;
    let response = server
        .get("/ar_1:1,c_fill,a_hflip,bo_5px_solid_black/disk/q.png")
        .await;
    assert_eq!(response.status(), 200);
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.width, image.height), (210, 210));
    image.assert_colour(2, 2, [0, 0, 0], 0);
    // Flipped: green is now top-left.
    image.assert_colour(20, 20, GREEN, 8);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A turned animation: every frame turned onto the same grown canvas.
#[tokio::test]
async fn any_angle_turns_every_frame_of_an_animation() {
    let origin = Origin::start().await;
    origin.add("anim.gif", "image/gif", encode_gif(40, 20, &[RED, BLUE]));
    let server = Server::start(config()).await;
    let src = origin.url("/img/anim.gif");
    let response = server.get(&format!("/a_30,r_5?url={src}")).await;
    assert_eq!(response.status(), 200);
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!(image.frames, 2);
    // 40 cos 30 + 20 sin 30 = 44.6; 40 sin 30 + 20 cos 30 = 37.3.
    assert_eq!((image.width, image.height), (45, 38));
}
