//! Image overlays (`l_`, README "Coming from Cloudinary"): transformations
//! written by Cloudinary's own SDK (`tools/cloudinary/urls_layers.py` writes
//! `tests/fixtures/cloudinary/layers.json`) served through `image/fetch`
//! and `?url=` with layers from a file mount (`l_wm:red`) and the local
//! origin (`l_fetch:`), checking the colour inside and beside each layer;
//! then the refusals: a missing layer, a forbidden or disabled `l_fetch`,
//! a layer over the pixel limit, nesting, and the ETag following a changed
//! layer.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use resizer::Config;
use resizer::source::parse_mounts;
use serde_json::Value;

use crate::support::*;

const TABLE: &str = include_str!("../fixtures/cloudinary/layers.json");

fn solid(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    encode_png(width, height, false, &rgb.repeat((width * height) as usize))
}

/// The upload mount's folder (`wm/red.png`, `big.png`), removed when dropped.
struct Layers(PathBuf);

impl Layers {
    fn new(label: &str) -> Layers {
        let root = std::env::temp_dir().join(format!("resizer-layers-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("wm")).unwrap();
        std::fs::write(root.join("wm/red.png"), solid(20, 10, [255, 0, 0])).unwrap();
        std::fs::write(root.join("big.png"), solid(300, 200, [0, 255, 0])).unwrap();
        Layers(root)
    }
}

impl Drop for Layers {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn layer_config(layers: &Layers) -> Config {
    let mut config = config();
    config.mounts = parse_mounts(&format!("media=file://{}", layers.0.display())).unwrap();
    config.cloudinary.upload_mount = Some("media".to_owned());
    config.cloudinary.extensions = ["png"].map(str::to_owned).to_vec();
    config
}

async fn origin() -> Origin {
    let origin = Origin::start().await;
    origin.add("base.png", "image/png", solid(200, 100, [0, 0, 255]));
    origin.add("red.png", "image/png", solid(20, 10, [255, 0, 0]));
    origin.add("green.png", "image/png", solid(10, 10, [0, 255, 0]));
    origin
}

/// `l_fetch:` of `url`, as the SDK writes it (padded base64url).
fn fetch_layer(url: &str) -> String {
    format!("l_fetch:{}", URL_SAFE.encode(url))
}

#[tokio::test]
async fn sdk_generated_overlays_are_placed_as_cloudinary_documents() {
    let table: Value = serde_json::from_str(TABLE).unwrap();
    let prefix = table["fetch_prefix"].as_str().unwrap();
    let layers = Layers::new("table");
    let origin = origin().await;
    let server = Server::start(layer_config(&layers)).await;
    let base = origin.url("/img/base.png");
    let rows = table["rows"].as_array().unwrap();
    assert!(rows.len() >= 9);
    for row in rows {
        let name = row["name"].as_str().unwrap();
        let mut transformation = row["transformation"].as_str().unwrap().to_owned();
        // The SDK's own base64 of origin.test, replaced by the local origin.
        for file in ["red.png", "green.png"] {
            let written = fetch_layer(&format!("{prefix}{file}"));
            if transformation.contains(&written) {
                transformation =
                    transformation.replace(&written, &fetch_layer(&origin.url(&format!("/img/{file}"))));
            }
        }
        assert!(
            !transformation.contains("l_fetch:aHR0cDovL29yaWdpbi50ZXN0"),
            "{name}: placeholder left"
        );
        let size: [u32; 2] = serde_json::from_value(row["size"].clone()).unwrap();
        let points: Vec<(u32, u32, [u8; 3])> = serde_json::from_value(row["points"].clone()).unwrap();
        // `?url=` takes one component: the one-component rows go both ways.
        let mut paths = vec![format!("/image/fetch/{transformation}/{base}")];
        if !transformation.contains('/') {
            paths.push(format!("/{transformation}?url={base}"));
        }
        for path in &paths {
            {
                let response = server.get(path).await;
                assert_eq!(
                    response.status(),
                    200,
                    "{name}: {path}: {}",
                    response.text().await.unwrap()
                );
                let image = decode(&response.bytes().await.unwrap());
                assert_eq!([image.width, image.height], size, "{name}: {path}");
                for (x, y, rgb) in &points {
                    let p = image.pixel(*x, *y);
                    let close = (0..3).all(|i| p[i].abs_diff(rgb[i]) <= 3);
                    assert!(
                        close,
                        "{name}: {path}: pixel ({x},{y}) is {p:?}, expected {rgb:?}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn layer_refusals_name_the_layer_and_follow_the_url_rules() {
    let layers = Layers::new("refusals");
    let origin = origin().await;
    let server = Server::start(layer_config(&layers)).await;
    let base = origin.url("/img/base.png");

    // A missing public ID: 404 naming it and the keys tried.
    let message = assert_error(
        server
            .get(&format!("/image/fetch/l_wm:nope/fl_layer_apply/{base}"))
            .await,
        404,
        "source_not_found",
    )
    .await;
    assert!(message.contains("wm/nope"), "{message}");
    // A missing fetch layer: 404 naming its URL.
    let missing = origin.url("/img/missing.png");
    let message = assert_error(
        server
            .get(&format!("/image/fetch/{}/{base}", fetch_layer(&missing)))
            .await,
        404,
        "layer_not_found",
    )
    .await;
    assert!(message.contains("missing.png"), "{message}");
    // Not base64url, text layers, nesting, stray fl_layer_apply, other tokens on it.
    for (path, code) in [
        ("l_fetch:%%%", "invalid_token"),
        ("l_text:Arial_20:hi", "invalid_token"),
        ("l_wm:red/l_wm:red/fl_layer_apply/fl_layer_apply", "invalid_token"),
        ("w_10/fl_layer_apply", "invalid_token"),
        ("l_wm:red/fl_layer_apply,w_10", "invalid_token"),
        ("l_wm:red,g_auto", "invalid_token"),
        ("l_wm:red,x_abc", "invalid_token"),
        (
            "l_a/fl_layer_apply/l_b/fl_layer_apply/l_c/fl_layer_apply/l_d/fl_layer_apply/l_e/fl_layer_apply/l_f/fl_layer_apply",
            "invalid_token",
        ),
    ] {
        let response = server.get(&format!("/image/fetch/{path}/{base}")).await;
        let message = assert_error(response, 400, code).await;
        assert!(!message.is_empty(), "{path}");
    }
    // A layer over max_src_pixels is refused like a source.
    let mut small = layer_config(&layers);
    small.max_src_pixels = 30_000;
    let limited = Server::start(small).await;
    assert_eq!(
        limited
            .get(&format!("/image/fetch/l_wm:red/fl_layer_apply/{base}"))
            .await
            .status(),
        200
    );
    assert_error(
        limited
            .get(&format!("/image/fetch/l_big/fl_layer_apply/{base}"))
            .await,
        422,
        "source_too_many_pixels",
    )
    .await;

    // l_fetch under the ?url= rules: a private address is 403 when private
    // networks are not allowed (the base comes from the mount here), and
    // remote_urls=off refuses it.
    let mut guarded = layer_config(&layers);
    guarded.allow_private_networks = false;
    std::fs::write(layers.0.join("base.png"), solid(200, 100, [0, 0, 255])).unwrap();
    let guarded = Server::start_exact(guarded).await;
    let layer = fetch_layer(&origin.url("/img/red.png"));
    let response = guarded
        .get(&format!("/image/upload/{layer}/fl_layer_apply/base.png"))
        .await;
    assert_eq!(response.status(), 403, "{}", response.text().await.unwrap());
    assert_eq!(
        guarded
            .get("/image/upload/l_wm:red/fl_layer_apply/base.png")
            .await
            .status(),
        200
    );
    let mut off = layer_config(&layers);
    off.remote_urls = false;
    let off = Server::start(off).await;
    assert_error(
        off.get(&format!("/image/upload/{layer}/fl_layer_apply/base.png"))
            .await,
        403,
        "remote_urls_disabled",
    )
    .await;
    assert_eq!(origin.hits("/img/red.png"), 0, "no refused layer was fetched");
}

#[tokio::test]
async fn a_changed_layer_changes_the_output_and_its_etag() {
    let layers = Layers::new("etag");
    let origin = origin().await;
    let mut config = layer_config(&layers);
    config.cache_ttl = Duration::from_secs(1);
    let server = Server::start(config).await;
    let base = origin.url("/img/base.png");
    let path = format!(
        "/image/fetch/{}/fl_layer_apply/{base}",
        fetch_layer(&origin.url("/img/red.png"))
    );
    let first = server.get(&path).await;
    let etag = first.headers()["etag"].clone();
    decode(&first.bytes().await.unwrap()).assert_colour(100, 50, [255, 0, 0], 2);
    // The same URL with the layer's base64 unpadded is the same result.
    let unpadded = format!(
        "/image/fetch/l_fetch:{}/fl_layer_apply/{base}",
        URL_SAFE_NO_PAD.encode(origin.url("/img/red.png"))
    );
    assert_eq!(server.get(&unpadded).await.headers()["etag"], etag);

    origin.add("red.png", "image/png", solid(20, 10, [0, 255, 0]));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = server.get(&path).await;
    assert_ne!(second.headers()["etag"], etag);
    decode(&second.bytes().await.unwrap()).assert_colour(100, 50, [0, 255, 0], 2);
}
