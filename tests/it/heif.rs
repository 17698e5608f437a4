//! AVIF and HEIC sources (`tests/fixtures/heif/`, made by its `make_heif.py`
//! with libheif's `heif-enc`): the header probe in every build, and with the
//! `heif` feature the pixels at known points, `irot` orientation, nclx
//! colour, alpha and the default output format, through the server and
//! `resizer convert`. Without the feature both formats are a `415` naming it.

use crate::support::*;

const QUAD_HEIC: &[u8] = include_bytes!("../fixtures/heif/quad.heic");
const QUAD_AVIF: &[u8] = include_bytes!("../fixtures/heif/quad.avif");
const QUAD_10BIT_HEIC: &[u8] = include_bytes!("../fixtures/heif/quad-10bit.heic");
const ALPHA_HEIC: &[u8] = include_bytes!("../fixtures/heif/alpha.heic");
const ALPHA_AVIF: &[u8] = include_bytes!("../fixtures/heif/alpha.avif");
const P3_AVIF: &[u8] = include_bytes!("../fixtures/heif/p3.avif");
const IROT_HEIC: &[u8] = include_bytes!("../fixtures/heif/irot.heic");

async fn setup() -> (Server, Origin) {
    let origin = Origin::start().await;
    for (name, bytes) in [
        ("quad.heic", QUAD_HEIC),
        ("quad.avif", QUAD_AVIF),
        ("quad-10bit.heic", QUAD_10BIT_HEIC),
        ("alpha.heic", ALPHA_HEIC),
        ("alpha.avif", ALPHA_AVIF),
        ("p3.avif", P3_AVIF),
        ("irot.heic", IROT_HEIC),
    ] {
        origin.add(name, "application/octet-stream", bytes.to_vec());
    }
    (Server::start(config()).await, origin)
}

#[tokio::test]
async fn the_header_is_read_in_every_build() {
    let (_, origin) = setup().await;
    // The size is known from `ispe` before any decoder runs, in a build
    // without libheif too: 64x48 = 3072 pixels is over a limit of 3000.
    let mut small = config();
    small.max_src_pixels = 3000;
    let strict = Server::start(small).await;
    for name in ["quad.heic", "quad.avif", "irot.heic"] {
        let response = strict
            .get(&format!("/w_10?url={}", origin.url(&format!("/img/{name}"))))
            .await;
        let message = assert_error(response, 422, "source_too_many_pixels").await;
        assert!(message.contains("64x48"), "{name}: {message}");
    }
}

#[cfg(not(feature = "heif"))]
#[tokio::test]
async fn without_the_feature_both_formats_are_415_naming_it() {
    let (server, origin) = setup().await;
    for name in ["quad.heic", "quad.avif"] {
        let response = server
            .get(&format!("/w_10?url={}", origin.url(&format!("/img/{name}"))))
            .await;
        let message = assert_error(response, 415, "unsupported_format").await;
        assert!(message.contains("`heif` feature"), "{name}: {message}");
    }
}

#[cfg(feature = "heif")]
mod decoding {
    use super::*;

    const WHITE: [u8; 3] = [255, 255, 255];

    async fn get(server: &Server, origin: &Origin, transformation: &str, name: &str) -> reqwest::Response {
        server
            .get(&format!(
                "/{transformation}?url={}",
                origin.url(&format!("/img/{name}"))
            ))
            .await
    }

    #[tokio::test]
    async fn an_opaque_heic_becomes_jpeg_with_its_quadrants() {
        let (server, origin) = setup().await;
        for name in ["quad.heic", "quad-10bit.heic"] {
            let response = get(&server, &origin, "w_128", name).await;
            assert_eq!(response.status(), 200, "{name}");
            assert_eq!(response.headers()["content-type"], "image/jpeg", "{name}");
            let image = decode(&response.bytes().await.unwrap());
            assert_eq!((image.width, image.height), (128, 96), "{name}");
            image.assert_colour(20, 20, RED, 40);
            image.assert_colour(108, 20, GREEN, 40);
            image.assert_colour(20, 76, BLUE, 40);
            image.assert_colour(108, 76, WHITE, 40);
        }
    }

    #[tokio::test]
    async fn an_avif_stays_avif_and_decodes_to_its_quadrants() {
        let (server, origin) = setup().await;
        let response = get(&server, &origin, "w_32", "quad.avif").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/avif");
        let avif = response.bytes().await.unwrap().to_vec();
        assert_eq!(avif_size(&avif), (32, 24));
        // Our own (10-bit, ravif) output read back: the decoder's round trip.
        origin.add("again.avif", "image/avif", avif);
        let response = get(&server, &origin, "f_png", "again.avif").await;
        assert_eq!(response.status(), 200);
        let image = decode(&response.bytes().await.unwrap());
        assert_eq!((image.width, image.height), (32, 24));
        image.assert_colour(4, 4, RED, 40);
        image.assert_colour(28, 4, GREEN, 40);
        image.assert_colour(4, 20, BLUE, 40);
        image.assert_colour(28, 20, WHITE, 40);
    }

    #[tokio::test]
    async fn alpha_is_kept_and_a_transparent_heic_becomes_png() {
        let (server, origin) = setup().await;
        for (name, transformation) in [("alpha.heic", "w_64"), ("alpha.avif", "w_64,f_png")] {
            let response = get(&server, &origin, transformation, name).await;
            assert_eq!(response.status(), 200, "{name}");
            assert_eq!(response.headers()["content-type"], "image/png", "{name}");
            let image = decode(&response.bytes().await.unwrap());
            assert_eq!(image.pixel(8, 8)[3], 255, "{name}");
            image.assert_colour(8, 8, RED, 40);
            image.assert_colour(8, 40, BLUE, 40);
            assert_eq!(image.pixel(56, 8)[3], 0, "{name}");
            assert_eq!(image.pixel(56, 40)[3], 0, "{name}");
        }
    }

    #[tokio::test]
    async fn irot_is_applied_once() {
        let (server, origin) = setup().await;
        // Stored 64x48, a quarter turn anticlockwise: shown 48x64 with the
        // green quadrant top-left and red bottom-left.
        let response = get(&server, &origin, "h_64", "irot.heic").await;
        assert_eq!(response.status(), 200);
        let image = decode(&response.bytes().await.unwrap());
        assert_eq!((image.width, image.height), (48, 64));
        image.assert_colour(8, 8, GREEN, 40);
        image.assert_colour(40, 8, WHITE, 40);
        image.assert_colour(8, 56, RED, 40);
        image.assert_colour(40, 56, BLUE, 40);
        // `a_90` composes with it: a quarter clockwise brings it back.
        let response = get(&server, &origin, "w_64,a_90", "irot.heic").await;
        let image = decode(&response.bytes().await.unwrap());
        assert_eq!((image.width, image.height), (64, 48));
        image.assert_colour(8, 8, RED, 40);
    }

    #[tokio::test]
    async fn an_nclx_display_p3_avif_is_converted_to_srgb() {
        let (server, origin) = setup().await;
        let response = get(&server, &origin, "w_16,f_png", "p3.avif").await;
        assert_eq!(response.status(), 200);
        let image = decode(&response.bytes().await.unwrap());
        // (200,100,50) in Display P3 is about (215,93,31) in sRGB, as the
        // ICC-tagged JPEG of tests/it/pipeline.rs.
        image.assert_colour(8, 6, [215, 93, 31], 8);
    }

    #[test]
    fn convert_reads_heic_and_avif() {
        let dir = std::env::temp_dir().join(format!("resizer-heif-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let heic = dir.join("irot.heic");
        std::fs::write(&heic, IROT_HEIC).unwrap();
        let avif = dir.join("alpha.avif");
        std::fs::write(&avif, ALPHA_AVIF).unwrap();
        let run = |input: &std::path::Path, transformation: &str| {
            let out = resizer()
                .args(["convert", input.to_str().unwrap(), transformation, "-"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            decode(&out.stdout)
        };
        let image = run(&heic, "w_24");
        assert_eq!((image.format, image.width, image.height), ("jpeg", 24, 32));
        image.assert_colour(4, 4, GREEN, 40);
        let image = run(&avif, "w_32,f_png");
        assert_eq!((image.format, image.width, image.height), ("png", 32, 24));
        image.assert_colour(4, 4, RED, 40);
        assert_eq!(image.pixel(28, 4)[3], 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
