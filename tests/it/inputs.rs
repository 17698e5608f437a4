//! Input formats resizer reads but does not write (BMP, ICO, TIFF), the default
//! output for them (PNG with transparency, else JPEG), and the formats it
//! recognises by their brands (AVIF, HEIC: `tests/it/heif.rs`), through
//! the server and `resizer convert`.

use crate::support::*;

/// Left half opaque red, right half transparent, as RGBA.
fn half_transparent(width: u32, height: u32) -> Vec<u8> {
    (0..width * height)
        .flat_map(|i| {
            if i % width < width / 2 {
                [255, 0, 0, 255]
            } else {
                [0, 255, 0, 0]
            }
        })
        .collect()
}

/// A flat RGB square as a 24-bit icon entry.
fn flat_dib(size: u32, rgb: [u8; 3]) -> Vec<u8> {
    encode_dib(size, size, 3, &rgb.repeat((size * size) as usize), true)
}

/// 16 px red (BMP entry), 48 px the quadrants (BMP entry), 256 px blue
/// (PNG entry), written out of order.
fn icon() -> Vec<u8> {
    encode_ico(&[
        encode_png(256, 256, false, &BLUE.repeat(256 * 256)),
        flat_dib(16, RED),
        encode_dib(48, 48, 3, &quadrants(48, 48), true),
    ])
}

async fn setup() -> (Server, Origin) {
    let origin = Origin::start().await;
    origin.add(
        "four.bmp",
        "image/bmp",
        encode_bmp(200, 100, 3, &quadrants(200, 100)),
    );
    origin.add(
        "alpha.bmp",
        "application/octet-stream",
        encode_bmp(100, 50, 4, &half_transparent(100, 50)),
    );
    origin.add("icon.ico", "image/x-icon", icon());
    // Stored 200x100, shown turned a quarter clockwise (orientation 6).
    origin.add(
        "four-turned.tif",
        "image/tiff",
        encode_tiff(200, 100, 3, &quadrants(200, 100), 6),
    );
    origin.add(
        "alpha.tif",
        "image/tiff",
        encode_tiff(100, 50, 4, &half_transparent(100, 50), 1),
    );
    (Server::start(config()).await, origin)
}

#[tokio::test]
async fn an_opaque_bmp_becomes_jpeg_and_keeps_its_pixels() {
    let (server, origin) = setup().await;
    let response = server
        .get(&format!("/w_100?url={}", origin.url("/img/four.bmp")))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.format, image.width, image.height), ("jpeg", 100, 50));
    image.assert_colour(10, 10, RED, 40);
    image.assert_colour(90, 10, GREEN, 40);
    image.assert_colour(10, 40, BLUE, 40);
    image.assert_colour(90, 40, YELLOW, 40);
    // `f_` still decides.
    let response = server
        .get(&format!("/w_100,f_webp?url={}", origin.url("/img/four.bmp")))
        .await;
    assert_eq!(response.headers()["content-type"], "image/webp");
    decode(&response.bytes().await.unwrap()).assert_colour(90, 40, YELLOW, 40);
}

#[tokio::test]
async fn a_bmp_with_transparency_becomes_png() {
    let (server, origin) = setup().await;
    let response = server
        .get(&format!("/w_50?url={}", origin.url("/img/alpha.bmp")))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.width, image.height), (50, 25));
    assert_eq!(image.pixel(5, 12), [255, 0, 0, 255]);
    assert_eq!(image.pixel(45, 12)[3], 0);
}

#[tokio::test]
async fn an_icon_is_read_from_the_entry_that_fits_the_output() {
    let (server, origin) = setup().await;
    let src = origin.url("/img/icon.ico");
    // The largest entry sets the size: 256x256 blue.
    let response = server.get(&format!("/w_200?url={src}")).await;
    assert_eq!(response.status(), 200);
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.format, image.width, image.height), ("jpeg", 200, 200));
    image.assert_colour(100, 100, BLUE, 40);
    // 40 px: the 48 px entry (the quadrants), not 16 px nor 256 px.
    let image = decode(
        &server
            .get(&format!("/w_40,f_png?url={src}"))
            .await
            .bytes()
            .await
            .unwrap(),
    );
    assert_eq!((image.width, image.height), (40, 40));
    image.assert_colour(5, 5, RED, 10);
    image.assert_colour(35, 5, GREEN, 10);
    image.assert_colour(5, 35, BLUE, 10);
    image.assert_colour(35, 35, YELLOW, 10);
    // 16 px and less: the 16 px entry.
    let image = decode(
        &server
            .get(&format!("/w_12,f_png?url={src}"))
            .await
            .bytes()
            .await
            .unwrap(),
    );
    image.assert_colour(6, 6, RED, 10);
}

#[tokio::test]
async fn a_tiff_is_turned_by_its_orientation_tag_and_keeps_alpha() {
    let (server, origin) = setup().await;
    let response = server
        .get(&format!("/w_50?url={}", origin.url("/img/four-turned.tif")))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.width, image.height), (50, 100));
    // Turned clockwise: the stored bottom-left (blue) is now top left.
    image.assert_colour(10, 10, BLUE, 40);
    image.assert_colour(40, 10, RED, 40);
    image.assert_colour(10, 90, YELLOW, 40);
    image.assert_colour(40, 90, GREEN, 40);
    let response = server
        .get(&format!("/w_50?url={}", origin.url("/img/alpha.tif")))
        .await;
    assert_eq!(response.headers()["content-type"], "image/png");
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!(image.pixel(5, 12), [255, 0, 0, 255]);
    assert_eq!(image.pixel(45, 12)[3], 0);
}

#[tokio::test]
async fn bare_avif_and_heic_brands_are_damaged_files() {
    // An `ftyp` naming AVIF or HEIC and nothing after it: recognised, and
    // refused as a file without its image description (tests/it/heif.rs
    // has the real ones).
    let origin = Origin::start().await;
    origin.add(
        "a.avif",
        "image/avif",
        b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf\0\0\0\0".to_vec(),
    );
    origin.add(
        "a.heic",
        "image/heic",
        b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0".to_vec(),
    );
    let server = Server::start(config()).await;
    for name in ["/img/a.avif", "/img/a.heic"] {
        let message = assert_error(
            server.get(&format!("/w_10?url={}", origin.url(name))).await,
            422,
            "corrupt_image",
        )
        .await;
        assert!(!message.contains("heif` feature"), "{message}");
    }
}

#[test]
fn convert_reads_bmp_ico_and_tiff() {
    let dir = std::env::temp_dir().join(format!("resizer-inputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bmp = dir.join("four.bmp");
    std::fs::write(&bmp, encode_bmp(200, 100, 3, &quadrants(200, 100))).unwrap();
    let ico = dir.join("icon.ico");
    std::fs::write(&ico, icon()).unwrap();
    let tif = dir.join("four-turned.tif");
    std::fs::write(&tif, encode_tiff(200, 100, 3, &quadrants(200, 100), 6)).unwrap();
    let run = |input: &std::path::Path, transformation: &str| {
        let out = resizer()
            .args(["convert", input.to_str().unwrap(), transformation, "-"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        decode(&out.stdout)
    };
    // To stdout without `f_`: JPEG, as the server answers.
    let image = run(&bmp, "w_100");
    assert_eq!((image.format, image.width, image.height), ("jpeg", 100, 50));
    image.assert_colour(90, 40, YELLOW, 40);
    let image = run(&ico, "w_40,f_png");
    assert_eq!(image.width, 40);
    image.assert_colour(35, 5, GREEN, 10);
    let image = run(&tif, "w_50");
    assert_eq!((image.format, image.width, image.height), ("jpeg", 50, 100));
    image.assert_colour(40, 10, RED, 40);
    image.assert_colour(10, 90, YELLOW, 40);
    // A read-only format is no output format.
    let out = resizer()
        .args([
            "convert",
            bmp.to_str().unwrap(),
            "w_10",
            dir.join("x.bmp").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
