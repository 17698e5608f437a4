//! Damaged and odd JPEGs (issue 17): what a browser displays, resizer
//! decodes, in both builds; only what cannot be decoded is a 422, with a
//! sentence a user understands. The corpus is made here, deterministically,
//! from `tests/fixtures/photo-coffee.jpg` (a baseline JPEG with one scan).

use crate::support::*;

fn photo() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/photo-coffee.jpg");
    std::fs::read(path).unwrap()
}

/// Where the scan header (SOS) starts, and where its entropy-coded data
/// starts (after the header's length).
fn scan(bytes: &[u8]) -> (usize, usize) {
    let sos = bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let length = usize::from(u16::from_be_bytes([bytes[sos + 2], bytes[sos + 3]]));
    (sos, sos + 2 + length)
}

/// 40 bytes of the entropy-coded data changed, spread over its middle half,
/// never making or breaking a 0xFF (so the marker structure stays).
fn changed_entropy(bytes: &[u8]) -> Vec<u8> {
    let (_, data) = scan(bytes);
    let end = bytes.len() - 2;
    let (from, to) = (data + (end - data) / 4, end - (end - data) / 4);
    let step = (to - from) / 40;
    let mut out = bytes.to_vec();
    let mut changed = 0;
    let mut at = from;
    while changed < 40 {
        let b = out[at];
        if b != 0xFF && b ^ 0x5A != 0xFF && out[at - 1] != 0xFF {
            out[at] = b ^ 0x5A;
            changed += 1;
            at += step;
        } else {
            at += 1;
        }
    }
    out
}

/// The files a browser shows, each with its name.
fn displayable() -> Vec<(&'static str, Vec<u8>)> {
    let good = photo();
    let (sos, data) = scan(&good);
    let mut stray = good.clone();
    stray.splice(sos..sos, [0x12, 0x34, 0x56]);
    let cut_in_scan = data + (good.len() - data) * 7 / 10;
    vec![
        ("40 bytes of entropy-coded data changed", changed_entropy(&good)),
        ("3 stray bytes before SOS", stray),
        ("no EOI", good[..good.len() - 2].to_vec()),
        ("cut at 70% of the scan", good[..cut_in_scan].to_vec()),
    ]
}

#[tokio::test]
async fn damaged_jpegs_a_browser_shows_are_decoded() {
    let origin = Origin::start().await;
    let server = Server::start(config()).await;
    for (i, (name, bytes)) in displayable().into_iter().enumerate() {
        origin.add(&format!("{i}.jpg"), "image/jpeg", bytes);
        for transformation in ["w_300", "w_60,f_png"] {
            let response = server
                .get(&format!(
                    "/{transformation}?url={}",
                    origin.url(&format!("/img/{i}.jpg"))
                ))
                .await;
            let status = response.status();
            let body = response.bytes().await.unwrap();
            assert_eq!(
                status,
                200,
                "{name}, {transformation}: {}",
                String::from_utf8_lossy(&body)
            );
            let image = decode(&body);
            assert_eq!(
                image.width,
                if transformation == "w_300" { 300 } else { 60 },
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn undecodable_jpegs_are_422_with_a_sentence() {
    let origin = Origin::start().await;
    let server = Server::start(config()).await;
    let good = photo();
    let (sos, _) = scan(&good);
    let mut no_scan = good[..sos].to_vec();
    no_scan.extend_from_slice(&[0xFF, 0xD9]);
    for (name, bytes, says) in [
        ("truncated header", good[..300].to_vec(), "truncated"),
        ("no image data", no_scan, "no scan"),
    ] {
        origin.add(name, "image/jpeg", bytes);
        let response = server
            .get(&format!("/w_100?url={}", origin.url(&format!("/img/{name}"))))
            .await;
        let message = assert_error(response, 422, "corrupt_image").await;
        assert!(message.contains(says), "{name}: {message}");
        for jargon in ["failed to fill", "expected a JPEG marker", "TurboJPEG"] {
            assert!(!message.contains(jargon), "{name}: {message}");
        }
    }
}
