//! Cloudinary delivery URLs (README, "Coming from Cloudinary"): tables of
//! URLs built by Cloudinary's own SDK (`tools/cloudinary/*.py`, committed
//! with their output under `tests/fixtures/cloudinary/`) served through the
//! real server against the local origin (`image/fetch`) and a file mount
//! (`image/upload`), and every refusal of the Cloudinary forms.

use std::path::PathBuf;

use resizer::Config;
use resizer::options::{GrammarLimits, Presets};
use resizer::signing::{CloudinarySignature, cloudinary_signature};
use resizer::source::parse_mounts;
use serde_json::Value;

use crate::support::*;

/// The presets the tables use (`tools/cloudinary/urls_forms.py`).
const PRESETS: &str = "thumb = c_fill,w_10,h_10\ngray = e_grayscale/w_20\n";

/// The upload mount's folder, removed when dropped.
struct Uploads(PathBuf);

impl Uploads {
    /// `q.png` and `shop/shoes/red.png`: 40x20 quadrants (red top left).
    fn new(label: &str) -> Uploads {
        let root = std::env::temp_dir().join(format!("resizer-cld-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("shop/shoes")).unwrap();
        let png = encode_png(40, 20, false, &quadrants(40, 20));
        std::fs::write(root.join("q.png"), &png).unwrap();
        std::fs::write(root.join("shop/shoes/red.png"), &png).unwrap();
        Uploads(root)
    }
}

impl Drop for Uploads {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server for the tables: the uploads as mount `media`, the presets, the
/// cloud name, and the API secret when given.
fn cloudinary_config(uploads: &Uploads, cloud: &str, secret: Option<&str>) -> Config {
    let mut config = config();
    config.mounts = parse_mounts(&format!("media=file://{}", uploads.0.display())).unwrap();
    config.cloudinary.upload_mount = Some("media".to_owned());
    config.cloudinary.cloud_name = Some(cloud.to_owned());
    config.cloudinary.api_secret = secret.map(str::to_owned);
    config.cloudinary.extensions = ["jpg", "jpeg", "png", "webp"].map(str::to_owned).to_vec();
    config.presets = Presets::parse(PRESETS, &GrammarLimits::default()).unwrap();
    config
}

/// Serves every row of the table at `table` (a path under
/// `tests/fixtures/cloudinary/`) and checks each expectation: status,
/// size, format, pixels at known points, grayscale, `Vary`. Fetch rows get
/// the local origin for `http://origin.test` (signed again when the row is
/// signed, as the signature covers the URL); upload rows are served as the
/// SDK wrote them, signatures included.
pub async fn run_table(table: &str) {
    let path = format!("{}/tests/fixtures/cloudinary/{table}", env!("CARGO_MANIFEST_DIR"));
    let table: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let secret = table["secret"].as_str().unwrap();
    let cloud = table["cloud_name"].as_str().unwrap();
    let placeholder = format!("{}/", table["origin"].as_str().unwrap());

    let origin = Origin::start().await;
    let png = encode_png(40, 20, false, &quadrants(40, 20));
    for name in ["q.png", "a b.png", "photo.jpg"] {
        origin.add(name, "image/png", png.clone());
    }
    let uploads = Uploads::new(table_label(&path));
    let open = Server::start(cloudinary_config(&uploads, cloud, None)).await;
    let signed = Server::start(cloudinary_config(&uploads, cloud, Some(secret))).await;
    let local = origin.url("/img/");

    let rows = table["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let name = row["name"].as_str().unwrap();
        let mut request = row["path"].as_str().unwrap().to_owned();
        let is_signed = row["secret"].as_bool().unwrap();
        if request.contains(&placeholder) {
            request = request.replace(&placeholder, &local);
            if is_signed {
                request = resign(&request, secret, row["long_signature"].as_bool().unwrap());
            }
        }
        let server = if is_signed { &signed } else { &open };
        let mut get = server.client.get(server.url(&request));
        if let Some(accept) = row["accept"].as_str() {
            get = get.header("accept", accept);
        }
        let response = get.send().await.unwrap();
        let expect = &row["expect"];
        let status = response.status().as_u16();
        let vary = response
            .headers()
            .get("vary")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = response.bytes().await.unwrap();
        assert_eq!(
            u64::from(status),
            expect["status"].as_u64().unwrap(),
            "{name}: {request}: {}",
            String::from_utf8_lossy(&body)
        );
        if status != 200 {
            continue;
        }
        let image = decode(&body);
        assert_eq!(image.format, expect["format"].as_str().unwrap(), "{name}");
        assert_eq!(
            (u64::from(image.width), u64::from(image.height)),
            (
                expect["width"].as_u64().unwrap(),
                expect["height"].as_u64().unwrap()
            ),
            "{name}"
        );
        for pixel in expect["pixels"].as_array().unwrap() {
            let [x, y, rgb] = pixel.as_array().unwrap().as_slice() else {
                panic!("{name}: a pixel is [x, y, [r, g, b]]");
            };
            let rgb: Vec<u8> = rgb
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_u64().unwrap() as u8)
                .collect();
            let (x, y) = (x.as_u64().unwrap() as u32, y.as_u64().unwrap() as u32);
            let p = image.pixel(x, y);
            assert!(
                (0..3).all(|i| p[i].abs_diff(rgb[i]) <= 40),
                "{name}: pixel ({x},{y}) is {p:?}, expected about {rgb:?}"
            );
        }
        if expect["grayscale"].as_bool() == Some(true) {
            for chunk in image.rgba.chunks_exact(4) {
                assert!(
                    chunk[0].abs_diff(chunk[1]) <= 2 && chunk[1].abs_diff(chunk[2]) <= 2,
                    "{name}: {chunk:?}"
                );
            }
        }
        assert_eq!(
            vary.contains("Accept"),
            expect["vary_accept"].as_bool().unwrap_or(false),
            "{name}: Vary `{vary}`"
        );
    }
}

/// A short label for the table's temporary folder.
fn table_label(path: &str) -> &str {
    path.rsplit('/').next().unwrap().trim_end_matches(".json")
}

/// `request` with its `s--{sig}--` computed again for what it now says.
fn resign(request: &str, secret: &str, long: bool) -> String {
    let start = request.find("/s--").unwrap() + 1;
    let end = start + request[start..].find("--/").unwrap() + 3;
    let signed_text = &request[end..];
    let kind = if long {
        CloudinarySignature::Long
    } else {
        CloudinarySignature::Short
    };
    let signature = cloudinary_signature(signed_text, secret, kind);
    format!("{}s--{signature}--/{signed_text}", &request[..start])
}

#[tokio::test]
async fn sdk_urls_for_the_url_forms() {
    run_table("urls_forms.json").await;
}

#[tokio::test]
async fn refusals() {
    let origin = Origin::start().await;
    origin.add(
        "q.png",
        "image/png",
        encode_png(40, 20, false, &quadrants(40, 20)),
    );
    let src = origin.url("/img/q.png");
    let uploads = Uploads::new("refusals");
    let server = Server::start(cloudinary_config(&uploads, "demo", None)).await;

    // Another cloud name.
    let response = server.get(&format!("/other/image/fetch/w_10/{src}")).await;
    assert!(
        assert_error(response, 404, "unknown_cloud")
            .await
            .contains("other")
    );
    // An unknown preset, and an unknown token, are named.
    let response = server.get(&format!("/image/fetch/t_nope/{src}")).await;
    assert!(
        assert_error(response, 400, "unknown_preset")
            .await
            .contains("nope")
    );
    let response = server.get(&format!("/image/fetch/w_10,zz_3/{src}")).await;
    assert!(
        assert_error(response, 400, "unknown_token")
            .await
            .contains("zz_3")
    );
    // In an upload path a segment with an unknown key is read as part of
    // the public ID (a folder named `sale_2024` must work), so the answer
    // names the keys tried.
    let response = server.get("/image/upload/w_10,zz_3/q").await;
    assert!(
        assert_error(response, 404, "source_not_found")
            .await
            .contains("w_10,zz_3/q")
    );
    let response = server.get("/image/upload/w_abc/q").await;
    assert!(
        assert_error(response, 400, "invalid_token")
            .await
            .contains("w_abc")
    );
    // A public ID found under no key names the keys tried.
    let response = server.get("/image/upload/w_10/shop/none.jpg").await;
    let message = assert_error(response, 404, "source_not_found").await;
    for key in ["shop/none.jpg", "shop/none", "shop/none.png", "shop/none.webp"] {
        assert!(message.contains(key), "{message}");
    }
    // `?url=` keeps refusing a `/` inside its transformation.
    let response = server.get(&format!("/w_10%2Fw_5?url={src}")).await;
    assert_eq!(response.status().as_u16(), 400);
    // ... while a preset that is a chain works there.
    let response = server.get(&format!("/t_gray?url={src}")).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(decode(&response.bytes().await.unwrap()).width, 20);

    // remote_urls off: fetch is refused, upload still served.
    let mut config = cloudinary_config(&uploads, "demo", None);
    config.remote_urls = false;
    let closed = Server::start(config).await;
    let response = closed.get(&format!("/image/fetch/w_10/{src}")).await;
    assert_error(response, 403, "remote_urls_disabled").await;
    assert_eq!(closed.get("/image/upload/w_10/q").await.status().as_u16(), 200);

    // No upload mount configured.
    let mut config = cloudinary_config(&uploads, "demo", None);
    config.cloudinary.upload_mount = None;
    let no_upload = Server::start(config).await;
    assert_error(
        no_upload.get("/image/upload/q").await,
        404,
        "upload_mount_not_set",
    )
    .await;

    // Signatures: missing, wrong, or for another path.
    let signed = Server::start(cloudinary_config(&uploads, "demo", Some("test-secret"))).await;
    assert_error(signed.get("/image/upload/w_20/q").await, 403, "signature_missing").await;
    assert_error(
        signed.get("/image/upload/s--AAAAAAAA--/w_20/q").await,
        403,
        "signature_invalid",
    )
    .await;
    let good = cloudinary_signature("w_20/q", "test-secret", CloudinarySignature::Short);
    assert_eq!(
        signed
            .get(&format!("/image/upload/s--{good}--/w_20/q"))
            .await
            .status()
            .as_u16(),
        200
    );
    assert_error(
        signed.get(&format!("/image/upload/s--{good}--/w_30/q")).await,
        403,
        "signature_invalid",
    )
    .await;

    // Strict mode: only presets.
    let mut config = cloudinary_config(&uploads, "demo", None);
    config.strict_transformations = true;
    let strict = Server::start(config).await;
    let response = strict.get("/image/upload/t_thumb,w_10/q").await;
    assert!(
        assert_error(response, 403, "named_transformation_required")
            .await
            .contains("w_10")
    );
    let response = strict.get(&format!("/w_10?url={src}")).await;
    assert_error(response, 403, "named_transformation_required").await;
    assert_eq!(strict.get("/image/upload/t_thumb/q").await.status().as_u16(), 200);
    assert_eq!(
        strict.get(&format!("/t_thumb?url={src}")).await.status().as_u16(),
        200
    );
}
