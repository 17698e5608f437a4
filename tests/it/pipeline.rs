//! Pixels through the whole service: EXIF orientation, colour management
//! and content-aware cropping, on committed fixtures (tests/fixtures).

use crate::support::*;

const WHITE: [u8; 3] = [255, 255, 255];

fn fixture(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    std::fs::read(format!("{path}{name}")).unwrap()
}

#[tokio::test]
async fn every_exif_orientation_comes_out_upright() {
    let origin = Origin::start().await;
    let server = Server::start(config()).await;
    for n in 1..=8 {
        let name = format!("exif-orientation-{n}.jpg");
        origin.add(&name, "image/jpeg", fixture(&name));
        let response = server
            .get(&format!("/f_png?url={}", origin.url(&format!("/img/{name}"))))
            .await;
        assert_eq!(response.status(), 200, "{name}");
        let image = decode(&response.bytes().await.unwrap());
        assert_eq!((image.width, image.height), (64, 48), "{name}");
        image.assert_colour(8, 8, RED, 40);
        image.assert_colour(56, 8, GREEN, 40);
        image.assert_colour(8, 40, BLUE, 40);
        image.assert_colour(56, 40, WHITE, 40);
    }
}

#[tokio::test]
async fn icc_profiles_are_converted_to_srgb() {
    let origin = Origin::start().await;
    let server = Server::start(config()).await;
    // Expected sRGB values of the stored (200, 100, 50), computed with
    // LittleCMS (Pillow's ImageCms, relative colorimetric).
    for (name, expected) in [
        ("display-p3.jpg", [215, 93, 31]),
        ("adobe-rgb.jpg", [227, 100, 42]),
    ] {
        origin.add(name, "image/jpeg", fixture(name));
        let response = server
            .get(&format!("/f_png?url={}", origin.url(&format!("/img/{name}"))))
            .await;
        assert_eq!(response.status(), 200, "{name}");
        let image = decode(&response.bytes().await.unwrap());
        image.assert_colour(image.width / 2, image.height / 2, expected, 6);
    }
}

#[tokio::test]
async fn cmyk_jpegs_come_out_as_rgb() {
    let origin = Origin::start().await;
    let server = Server::start(config()).await;
    origin.add("cmyk.jpg", "image/jpeg", fixture("cmyk.jpg"));
    let response = server
        .get(&format!("/w_64?url={}", origin.url("/img/cmyk.jpg")))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let image = decode(&response.bytes().await.unwrap());
    image.assert_colour(8, 8, RED, 60);
    image.assert_colour(56, 40, WHITE, 60);
}

#[tokio::test]
async fn g_auto_keeps_an_off_centre_subject() {
    let origin = Origin::start().await;
    let server = Server::start(config()).await;
    // A flat grey 400x200 scene with a detailed subject near the right edge.
    let (w, h) = (400u32, 200u32);
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let subject = (310..390).contains(&x) && (60..140).contains(&y);
            let v = if subject && (x / 4 + y / 4) % 2 == 0 {
                250
            } else if subject {
                20
            } else {
                128
            };
            data.extend_from_slice(&[v, v, v]);
        }
    }
    origin.add("subject.png", "image/png", encode_png(w, h, false, &data));
    let src = origin.url("/img/subject.png");
    let spread = |image: &Decoded| {
        let lumas: Vec<u8> = (0..image.height)
            .flat_map(|y| (0..image.width).map(move |x| (x, y)))
            .map(|(x, y)| image.pixel(x, y)[0])
            .collect();
        lumas.iter().max().unwrap() - lumas.iter().min().unwrap()
    };
    for transformation in ["c_thumb,w_100,h_100", "c_fill,w_100,h_100,g_auto"] {
        let response = server.get(&format!("/{transformation}?url={src}")).await;
        let image = decode(&response.bytes().await.unwrap());
        assert_eq!((image.width, image.height), (100, 100));
        assert!(
            spread(&image) > 150,
            "{transformation}: the subject is not in the crop"
        );
    }
    // The centre crop misses it: proof that the test can fail.
    let response = server.get(&format!("/c_fill,w_100,h_100?url={src}")).await;
    let image = decode(&response.bytes().await.unwrap());
    assert!(spread(&image) < 20);
}
