//! Test support: the real server on 127.0.0.1:0, a local origin that counts
//! its hits, and helpers to make and read images.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use resizer::Config;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running resizer.
pub struct Server {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Starts resizer with `config` (the guard is opened for loopback with
    /// the documented `allow_private_networks` setting, as in local development).
    pub async fn start(mut config: Config) -> Server {
        config.allow_private_networks = true;
        Server::start_exact(config).await
    }

    /// Starts resizer with `config` exactly as given.
    pub async fn start_exact(config: Config) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(resizer::serve(listener, config, async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        Server {
            addr,
            client,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{}", self.addr, path_and_query)
    }

    pub async fn get(&self, path_and_query: &str) -> reqwest::Response {
        self.client.get(self.url(path_and_query)).send().await.unwrap()
    }

    /// Asks the server to shut down gracefully.
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The default configuration for tests: defaults, private networks allowed.
pub fn config() -> Config {
    let mut config = Config::defaults();
    config.allow_private_networks = true;
    config.download_timeout = Duration::from_secs(5);
    // Most tests count what the caches save from the first request on;
    // the default admission (on the second request) has tests of its own
    // (`serving::the_default_admission_caches_from_the_second_request_on`).
    config.cache_admission = resizer::admission::Admission::First;
    config
}

/// A served file: its Content-Type and bytes.
type File = (&'static str, Vec<u8>);

/// A local origin serving images from memory and counting requests per path.
#[derive(Clone, Default)]
pub struct Origin {
    pub addr: Option<SocketAddr>,
    files: Arc<Mutex<HashMap<String, File>>>,
    /// `/img/<name>` answered with a 302 to the given location.
    redirects: Arc<Mutex<HashMap<String, String>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    total: Arc<AtomicUsize>,
    /// Requests answered `304 Not Modified` (their `If-None-Match` named
    /// the current version of the file).
    not_modified: Arc<AtomicUsize>,
}

#[derive(serde::Deserialize)]
struct DelayQuery {
    delay_ms: Option<u64>,
}

impl Origin {
    pub async fn start() -> Origin {
        let mut origin = Origin::default();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        origin.addr = Some(listener.local_addr().unwrap());
        let router = Router::new()
            .route("/img/{name}", get(serve_file))
            .route("/status/{code}", get(serve_status))
            .route("/drip", get(serve_drip))
            .route("/endless", get(serve_endless))
            .route("/redirect/{n}", get(serve_redirect))
            .route("/goto", get(serve_goto))
            .with_state(origin.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        origin
    }

    /// Adds a file served at `/img/<name>`.
    pub fn add(&self, name: &str, content_type: &'static str, bytes: Vec<u8>) {
        self.files
            .lock()
            .unwrap()
            .insert(name.to_owned(), (content_type, bytes));
    }

    /// Makes `/img/<name>` a 302 to `location`.
    pub fn add_redirect(&self, name: &str, location: &str) {
        self.redirects
            .lock()
            .unwrap()
            .insert(name.to_owned(), location.to_owned());
    }

    /// The URL of a path on this origin.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr.unwrap(), path)
    }

    /// Requests the origin received for `path` (without query).
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Conditional requests answered `304 Not Modified`.
    pub fn not_modified(&self) -> usize {
        self.not_modified.load(Ordering::SeqCst)
    }

    /// Requests the origin received in all.
    pub fn total_hits(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    fn count(&self, path: String) {
        self.total.fetch_add(1, Ordering::SeqCst);
        *self.hits.lock().unwrap().entry(path).or_default() += 1;
    }
}

/// A strong ETag for a file's bytes (FNV-1a over them and their length).
fn etag_of(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}-{}\"", bytes.len())
}

async fn serve_file(
    State(origin): State<Origin>,
    Path(name): Path<String>,
    Query(query): Query<DelayQuery>,
    request: axum::http::HeaderMap,
) -> Response {
    origin.count(format!("/img/{name}"));
    if let Some(ms) = query.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let redirect = origin.redirects.lock().unwrap().get(&name).cloned();
    if let Some(location) = redirect {
        return Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, location)
            .body(Body::empty())
            .unwrap();
    }
    let file = origin.files.lock().unwrap().get(&name).cloned();
    match file {
        Some((content_type, bytes)) => {
            let etag = etag_of(&bytes);
            if request
                .get(header::IF_NONE_MATCH)
                .is_some_and(|sent| sent.as_bytes() == etag.as_bytes())
            {
                origin.not_modified.fetch_add(1, Ordering::SeqCst);
                return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
            }
            (
                [
                    (header::CONTENT_TYPE, content_type),
                    (header::ETAG, etag.as_str()),
                ],
                bytes,
            )
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn serve_status(State(origin): State<Origin>, Path(code): Path<u16>) -> Response {
    origin.count(format!("/status/{code}"));
    StatusCode::from_u16(code).unwrap().into_response()
}

/// One byte every 400 ms, for a long time: a server too slow to finish.
async fn serve_drip(State(origin): State<Origin>) -> Response {
    origin.count("/drip".into());
    let stream = futures_util::stream::unfold(0u32, |n| async move {
        if n >= 100 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        Some((Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"x")), n + 1))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "image/jpeg")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// A chunked body without Content-Length that goes on for 64 MB.
async fn serve_endless(State(origin): State<Origin>) -> Response {
    origin.count("/endless".into());
    let stream = futures_util::stream::unfold(0u32, |n| async move {
        (n < 1024).then(|| {
            (
                Ok::<_, std::io::Error>(bytes::Bytes::from(vec![0u8; 64 * 1024])),
                n + 1,
            )
        })
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "image/png")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// Redirects to itself forever.
async fn serve_redirect(State(origin): State<Origin>, Path(n): Path<u32>) -> Response {
    origin.count("/redirect".into());
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, format!("/redirect/{}", n + 1))
        .body(Body::empty())
        .unwrap()
}

#[derive(serde::Deserialize)]
struct GotoQuery {
    to: String,
}

/// Redirects once to the URL in `?to=`, wherever it points.
async fn serve_goto(State(origin): State<Origin>, Query(query): Query<GotoQuery>) -> Response {
    origin.count("/goto".into());
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, query.to)
        .body(Body::empty())
        .unwrap()
}

// ---------------------------------------------------------------- images

/// A 20000x20000 grey PNG of zeros: 400 megapixels claimed by a file of
/// about 400 kB, a decompression bomb.
pub fn pixel_bomb_png() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, 20_000, 20_000);
        encoder.set_color(png::ColorType::Grayscale);
        let mut writer = encoder.write_header().unwrap();
        let mut stream = writer.stream_writer().unwrap();
        let row = vec![0u8; 20_000];
        for _ in 0..20_000 {
            std::io::Write::write_all(&mut stream, &row).unwrap();
        }
        stream.finish().unwrap();
    }
    out
}

pub const RED: [u8; 3] = [255, 0, 0];
pub const GREEN: [u8; 3] = [0, 255, 0];
pub const BLUE: [u8; 3] = [0, 0, 255];
pub const YELLOW: [u8; 3] = [255, 255, 0];

/// A `width x height` RGB image whose quadrants are red (top left), green
/// (top right), blue (bottom left) and yellow (bottom right).
pub fn quadrants(width: u32, height: u32) -> Vec<u8> {
    let mut data = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let colour = match (x < width / 2, y < height / 2) {
                (true, true) => RED,
                (false, true) => GREEN,
                (true, false) => BLUE,
                (false, false) => YELLOW,
            };
            data.extend_from_slice(&colour);
        }
    }
    data
}

/// 400x200 white with a red 50x100 bar at x 10..60 and a blue one at x 340..390,
/// both at y 50..150: two subjects no square crop can hold together (`c_fill_pad`).
pub fn two_subjects() -> Vec<u8> {
    let mut data = Vec::with_capacity(400 * 200 * 3);
    for y in 0..200u32 {
        for x in 0..400u32 {
            let colour = match ((50..150).contains(&y), x) {
                (true, 10..60) => RED,
                (true, 340..390) => BLUE,
                _ => [255, 255, 255],
            };
            data.extend_from_slice(&colour);
        }
    }
    data
}

pub fn encode_png(width: u32, height: u32, rgba: bool, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(if rgba {
        png::ColorType::Rgba
    } else {
        png::ColorType::Rgb
    });
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(data).unwrap();
    writer.finish().unwrap();
    out
}

pub fn encode_jpeg(width: u32, height: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = jpeg_encoder::Encoder::new(&mut out, 95);
    encoder
        .encode(data, width as u16, height as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

/// A GIF of `frames` frames, each one flat colour, 100 ms apart.
pub fn encode_gif(width: u16, height: u16, colours: &[[u8; 3]]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut out, width, height, &[]).unwrap();
        encoder.set_repeat(gif::Repeat::Infinite).unwrap();
        for colour in colours {
            let mut pixels = Vec::new();
            for _ in 0..(u32::from(width) * u32::from(height)) {
                pixels.extend_from_slice(colour);
            }
            let mut frame = gif::Frame::from_rgb(width, height, &pixels);
            frame.delay = 10;
            encoder.write_frame(&frame).unwrap();
        }
    }
    out
}

/// A decoded output: format name, size and RGBA pixels of the first frame,
/// plus the number of frames.
#[derive(Debug)]
pub struct Decoded {
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
    pub frames: usize,
}

impl Decoded {
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        [self.rgba[i], self.rgba[i + 1], self.rgba[i + 2], self.rgba[i + 3]]
    }

    /// Asserts the pixel at (x, y) is within `tolerance` of `rgb` on each channel.
    #[track_caller]
    pub fn assert_colour(&self, x: u32, y: u32, rgb: [u8; 3], tolerance: u8) {
        let p = self.pixel(x, y);
        let close = (0..3).all(|i| p[i].abs_diff(rgb[i]) <= tolerance);
        assert!(
            close,
            "pixel ({x},{y}) is {p:?}, expected about {rgb:?} (±{tolerance})"
        );
    }
}

/// Decodes an output with decoders independent of the pipeline under test.
pub fn decode(bytes: &[u8]) -> Decoded {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut decoder = jpeg_decoder::Decoder::new(bytes);
        let pixels = decoder.decode().unwrap();
        let info = decoder.info().unwrap();
        let rgba = match info.pixel_format {
            jpeg_decoder::PixelFormat::RGB24 => {
                pixels.chunks(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect()
            }
            jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l, 255]).collect(),
            other => panic!("unexpected JPEG pixel format {other:?}"),
        };
        return Decoded {
            format: "jpeg",
            width: u32::from(info.width),
            height: u32::from(info.height),
            rgba,
            frames: 1,
        };
    }
    if bytes.starts_with(b"\x89PNG") {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let data = &buf[..info.buffer_size()];
        let rgba = match info.color_type {
            png::ColorType::Rgb => data.chunks(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
            png::ColorType::Rgba => data.to_vec(),
            png::ColorType::Grayscale => data.iter().flat_map(|&l| [l, l, l, 255]).collect(),
            png::ColorType::GrayscaleAlpha => data.chunks(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect(),
            other => panic!("unexpected PNG colour type {other:?}"),
        };
        return Decoded {
            format: "png",
            width: info.width,
            height: info.height,
            rgba,
            frames: 1,
        };
    }
    if bytes.starts_with(b"GIF8") {
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::RGBA);
        let mut decoder = options.read_info(bytes).unwrap();
        let (width, height) = (u32::from(decoder.width()), u32::from(decoder.height()));
        let first = decoder.read_next_frame().unwrap().unwrap();
        // Frames in these tests cover the whole canvas.
        let rgba = first.buffer.to_vec();
        let mut frames = 1;
        while decoder.read_next_frame().unwrap().is_some() {
            frames += 1;
        }
        return Decoded {
            format: "gif",
            width,
            height,
            rgba,
            frames,
        };
    }
    if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(bytes)).unwrap();
        let (width, height) = decoder.dimensions();
        let frames = if decoder.is_animated() {
            decoder.num_frames() as usize
        } else {
            1
        };
        let mut buf = vec![0; decoder.output_buffer_size().unwrap()];
        decoder.read_image(&mut buf).unwrap();
        let rgba = if decoder.has_alpha() {
            buf
        } else {
            buf.chunks(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect()
        };
        return Decoded {
            format: "webp",
            width,
            height,
            rgba,
            frames,
        };
    }
    panic!(
        "output is not a JPEG, PNG, GIF or WebP: {:02x?}",
        &bytes[..bytes.len().min(16)]
    );
}

/// Reads the `ispe` (image spatial extent) of an AVIF file: its width and height.
pub fn avif_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.len() > 12 && &bytes[4..8] == b"ftyp",
        "not an ISO-BMFF file"
    );
    assert!(
        bytes[8..32.min(bytes.len())].windows(4).any(|w| w == b"avif"),
        "brand is not avif"
    );
    let at = bytes.windows(4).position(|w| w == b"ispe").expect("no ispe box");
    let field = |o: usize| u32::from_be_bytes(bytes[at + o..at + o + 4].try_into().unwrap());
    (field(8), field(12))
}

/// Reads a JSON error body and checks its status and code.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"]["status"], status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap().to_owned();
    assert!(!message.is_empty());
    message
}

/// The `resizer` binary with only the settings a test gives it: no
/// `RESIZER_*` variable is inherited from the environment.
pub fn resizer() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_resizer"));
    for (key, _) in std::env::vars() {
        if key.starts_with("RESIZER_") {
            command.env_remove(key);
        }
    }
    command
}

/// A BMP file of RGB (`channels` 3, written as 24-bit) or RGBA (4, written
/// as 32-bit `BI_RGB` with alpha in the 4th byte) pixels, rows bottom-up as
/// most writers store them.
pub fn encode_bmp(width: u32, height: u32, channels: usize, data: &[u8]) -> Vec<u8> {
    let dib = encode_dib(width, height, channels, data, false);
    let mut out = b"BM".to_vec();
    out.extend_from_slice(&(14 + dib.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&54u32.to_le_bytes());
    out.extend(dib);
    out
}

/// The DIB of [`encode_bmp`]; `icon` doubles the height in the header and
/// appends an all-opaque AND mask, as an ICO entry stores it.
pub fn encode_dib(width: u32, height: u32, channels: usize, data: &[u8], icon: bool) -> Vec<u8> {
    let bits = (channels * 8) as u16;
    let mut out = Vec::new();
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&(width as i32).to_le_bytes());
    out.extend_from_slice(&((height * if icon { 2 } else { 1 }) as i32).to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(&[0; 24]);
    let stride = (width as usize * channels).div_ceil(4) * 4;
    for y in (0..height as usize).rev() {
        let row = &data[y * width as usize * channels..][..width as usize * channels];
        let mut stored: Vec<u8> = row
            .chunks(channels)
            .flat_map(|p| {
                let mut v = vec![p[2], p[1], p[0]];
                v.extend_from_slice(&p[3..]);
                v
            })
            .collect();
        stored.resize(stride, 0);
        out.extend(stored);
    }
    if icon {
        out.extend(std::iter::repeat_n(
            0,
            (width as usize).div_ceil(32) * 4 * height as usize,
        ));
    }
    out
}

/// An ICO file holding `entries` (PNG files or DIBs from [`encode_dib`]).
pub fn encode_ico(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![0, 0, 1, 0];
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    let mut offset = 6 + 16 * entries.len();
    for entry in entries {
        out.extend_from_slice(&[0, 0, 0, 0, 1, 0, 32, 0]);
        out.extend_from_slice(&(entry.len() as u32).to_le_bytes());
        out.extend_from_slice(&(offset as u32).to_le_bytes());
        offset += entry.len();
    }
    for entry in entries {
        out.extend_from_slice(entry);
    }
    out
}

/// A TIFF of 8-bit RGB (`channels` 3) or RGBA (4) pixels, with an
/// orientation tag when `orientation` is not 1.
pub fn encode_tiff(width: u32, height: u32, channels: usize, data: &[u8], orientation: u16) -> Vec<u8> {
    use tiff::encoder::{TiffEncoder, colortype};
    let mut out = std::io::Cursor::new(Vec::new());
    let mut encoder = TiffEncoder::new(&mut out).unwrap();
    if channels == 4 {
        let mut image = encoder.new_image::<colortype::RGBA8>(width, height).unwrap();
        image
            .encoder()
            .write_tag(tiff::tags::Tag::Orientation, orientation)
            .unwrap();
        image.write_data(data).unwrap();
    } else {
        let mut image = encoder.new_image::<colortype::RGB8>(width, height).unwrap();
        image
            .encoder()
            .write_tag(tiff::tags::Tag::Orientation, orientation)
            .unwrap();
        image.write_data(data).unwrap();
    }
    out.into_inner()
}

/// A little-endian TIFF written by hand: one IFD of (tag, type, count,
/// value) entries and `next` as the next-IFD pointer, for headers no
/// encoder would write.
pub fn handmade_tiff(entries: &[(u16, u16, u32, u32)], next: u32) -> Vec<u8> {
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for &(tag, kind, count, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    out.extend_from_slice(&next.to_le_bytes());
    // One grey sample for an honest 1x1 strip at the end.
    out.push(200);
    out
}

/// A GET of `path_and_query` written on the socket exactly as given, for
/// paths a client library would normalise (`..`, `%2e`, `\\`): the status
/// and the body. Bounded by 10 s, so a hanging server fails the test.
pub async fn raw_get(addr: SocketAddr, path_and_query: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path_and_query} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        answer
    };
    let answer = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .unwrap_or_else(|_| panic!("GET {path_and_query}: no answer within 10 s"));
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (status, body)
}
