//! SVG and JPEG XL sources through the server and `resizer convert`: SVG
//! drawn at the output size with its transparency, JPEG XL oriented and in
//! sRGB, and the default output of each (PNG with transparency, else JPEG).

use crate::support::*;

/// 40x20: red left half, blue right half, after an XML declaration and a
/// comment.
const HALVES: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<!-- two halves -->
<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" viewBox="0 0 40 20">
  <rect width="20" height="20" fill="#ff0000"/>
  <rect x="20" width="20" height="20" fill="#0000ff"/>
</svg>"##;

/// No size at all (300x150 by default): a green disc on transparency.
const DISC: &str = r##"<svg xmlns="http://www.w3.org/2000/svg">
  <circle cx="150" cy="75" r="50" fill="#00ff00"/>
</svg>"##;

fn jxl(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/jxl/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn setup() -> (Server, Origin) {
    let origin = Origin::start().await;
    origin.add("halves.svg", "image/svg+xml", HALVES.as_bytes().to_vec());
    origin.add("disc.svg", "text/plain", DISC.as_bytes().to_vec());
    origin.add("quadrants.jxl", "image/jxl", jxl("quadrants-lossy.jxl"));
    origin.add("turned.jxl", "application/octet-stream", jxl("orientation-6.jxl"));
    origin.add("alpha.jxl", "image/jxl", jxl("alpha.jxl"));
    origin.add("p3.jxl", "image/jxl", jxl("display-p3-lossless.jxl"));
    (Server::start(config()).await, origin)
}

async fn fetch(server: &Server, transformation: &str, src: &str) -> Decoded {
    let response = server.get(&format!("/{transformation}?url={src}")).await;
    assert_eq!(response.status(), 200, "{transformation}");
    decode(&response.bytes().await.unwrap())
}

#[tokio::test]
async fn an_opaque_svg_is_drawn_at_the_output_size_as_jpeg() {
    let (server, origin) = setup().await;
    let src = origin.url("/img/halves.svg");
    let response = server.get(&format!("/w_400?url={src}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.width, image.height), (400, 200));
    image.assert_colour(100, 100, RED, 10);
    image.assert_colour(300, 100, BLUE, 10);
    // Drawn at 10x, the edge between the halves is one pixel wide: a 40 px
    // render enlarged would spread it over a dozen.
    let sharp = fetch(&server, "w_400,f_png", &src).await;
    assert_eq!(sharp.pixel(197, 100), [255, 0, 0, 255]);
    assert_eq!(sharp.pixel(202, 100), [0, 0, 255, 255]);
}

#[tokio::test]
async fn every_crop_mode_is_computed_on_the_intrinsic_size() {
    let (server, origin) = setup().await;
    let src = origin.url("/img/halves.svg");
    // Fill a square from the right: all blue.
    let image = fetch(&server, "w_100,h_100,c_fill,g_east,f_png", &src).await;
    assert_eq!((image.width, image.height), (100, 100));
    image.assert_colour(5, 5, BLUE, 0);
    image.assert_colour(95, 95, BLUE, 0);
    // Pad: the drawing 100x50 in the middle of 100x100, the pad's
    // background above and below it.
    let image = fetch(&server, "w_100,h_100,c_pad,f_png", &src).await;
    assert_eq!(image.pixel(50, 5), image.pixel(50, 95));
    assert!(![RED, BLUE].contains(&image.pixel(50, 5)[..3].try_into().unwrap()));
    image.assert_colour(10, 50, RED, 0);
    image.assert_colour(90, 50, BLUE, 0);
    // A crop in intrinsic units, then dpr 2: 20x20 of the red half at 2x.
    let image = fetch(&server, "c_crop,w_10,h_10,g_west,dpr_2,f_png", &src).await;
    assert_eq!((image.width, image.height), (20, 20));
    image.assert_colour(10, 10, RED, 0);
    // An aspect ratio and a quarter turn: 40x20 turned is 20x40, blue at the bottom.
    let image = fetch(&server, "a_90,w_50,f_png", &src).await;
    assert_eq!((image.width, image.height), (50, 100));
    image.assert_colour(25, 10, RED, 0);
    image.assert_colour(25, 90, BLUE, 0);
    let image = fetch(&server, "ar_1:1,w_60,c_fill,g_west,f_png", &src).await;
    assert_eq!((image.width, image.height), (60, 60));
    image.assert_colour(30, 30, RED, 0);
}

#[tokio::test]
async fn an_svg_keeps_its_transparency_as_png_unless_b_flattens_it() {
    let (server, origin) = setup().await;
    let src = origin.url("/img/disc.svg");
    let response = server.get(&format!("/w_600?url={src}")).await;
    assert_eq!(response.headers()["content-type"], "image/png");
    let image = decode(&response.bytes().await.unwrap());
    // 300x150 by default, drawn at 2x.
    assert_eq!((image.width, image.height), (600, 300));
    assert_eq!(image.pixel(10, 10)[3], 0);
    assert_eq!(image.pixel(300, 150), [0, 255, 0, 255]);
    let image = fetch(&server, "w_600,b_white,f_jpg", &src).await;
    image.assert_colour(10, 10, [255, 255, 255], 2);
    image.assert_colour(300, 150, GREEN, 10);
}

#[tokio::test]
async fn an_svg_referencing_the_origin_causes_no_request() {
    let (server, origin) = setup().await;
    origin.add("x.png", "image/png", encode_png(4, 4, false, &RED.repeat(16)));
    origin.add("x.css", "text/css", b"rect { fill: red }".to_vec());
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="20" height="20">
  <style>@import url("{css}");</style>
  <image href="{png}" width="20" height="20"/>
  <image xlink:href="{png}" width="20" height="20"/>
  <image href="file:///etc/passwd" width="20" height="20"/>
  <use href="{svg_ref}#a"/>
  <rect width="4" height="4" fill="#0000ff"/>
</svg>"##,
        css = origin.url("/img/x.css"),
        png = origin.url("/img/x.png"),
        svg_ref = origin.url("/img/halves.svg"),
    );
    origin.add("refs.svg", "image/svg+xml", svg.into_bytes());
    let image = fetch(&server, "w_20,f_png", &origin.url("/img/refs.svg")).await;
    image.assert_colour(2, 2, BLUE, 0);
    assert_eq!(image.pixel(10, 10)[3], 0, "nothing drawn from outside");
    assert_eq!(origin.hits("/img/x.png"), 0);
    assert_eq!(origin.hits("/img/x.css"), 0);
    assert_eq!(origin.hits("/img/halves.svg"), 0);
}

#[tokio::test]
async fn jxl_is_oriented_converted_and_written_as_jpeg_or_png() {
    let (server, origin) = setup().await;
    let response = server
        .get(&format!("/w_128?url={}", origin.url("/img/quadrants.jxl")))
        .await;
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.width, image.height), (128, 96));
    image.assert_colour(10, 10, RED, 20);
    image.assert_colour(118, 10, GREEN, 20);
    image.assert_colour(10, 86, BLUE, 20);
    image.assert_colour(118, 86, [255, 255, 255], 20);
    // Stored 48x64 with orientation 6: shown 64x48, upright.
    let image = fetch(&server, "f_png", &origin.url("/img/turned.jxl")).await;
    assert_eq!((image.width, image.height), (64, 48));
    image.assert_colour(5, 5, RED, 0);
    image.assert_colour(58, 42, [255, 255, 255], 0);
    // Alpha: PNG by default.
    let response = server
        .get(&format!("/w_32?url={}", origin.url("/img/alpha.jxl")))
        .await;
    assert_eq!(response.headers()["content-type"], "image/png");
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.width, image.height), (32, 24));
    assert_eq!(image.pixel(4, 12), [255, 0, 0, 255]);
    assert_eq!(image.pixel(28, 12)[3], 0);
    // Display P3 (200,100,50) is sRGB (215,92,31).
    let image = fetch(&server, "f_png", &origin.url("/img/p3.jxl")).await;
    image.assert_colour(16, 16, [215, 92, 31], 4);
}

#[test]
fn convert_reads_svg_and_jxl() {
    let dir = std::env::temp_dir().join(format!("resizer-vector-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("halves.svg");
    std::fs::write(&svg, HALVES).unwrap();
    let out = resizer()
        .args(["convert", svg.to_str().unwrap(), "w_80", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let image = decode(&out.stdout);
    assert_eq!((image.format, image.width, image.height), ("jpeg", 80, 40));
    image.assert_colour(20, 20, RED, 10);
    image.assert_colour(60, 20, BLUE, 10);

    let turned = dir.join("turned.jxl");
    std::fs::write(&turned, jxl("orientation-6.jxl")).unwrap();
    let out = resizer()
        .args(["convert", turned.to_str().unwrap(), "w_32,f_png", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let image = decode(&out.stdout);
    assert_eq!((image.format, image.width, image.height), ("png", 32, 24));
    image.assert_colour(3, 3, RED, 0);
    image.assert_colour(28, 3, GREEN, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
