//! The edges of the HTTP layer: the query (repeated parameters, form
//! encoding), answers outside the transformation route (404, 405), `304`
//! to HEAD, and the process itself (start-up errors, `--version`, the
//! request log as written to a pipe).

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::*;

async fn setup() -> (Server, Origin) {
    let origin = Origin::start().await;
    let png = encode_png(200, 100, false, &quadrants(200, 100));
    origin.add("four.png", "image/png", png.clone());
    origin.add("with space.png", "image/png", png.clone());
    origin.add("a+b.png", "image/png", png);
    (Server::start(config()).await, origin)
}

fn form_encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn a_repeated_url_or_signature_is_400() {
    let (server, origin) = setup().await;
    let (a, b) = (origin.url("/img/four.png"), origin.url("/img/a+b.png"));
    for query in [
        format!("url={}&url={}", form_encoded(&a), form_encoded(&b)),
        format!("url={a}&url={b}"),
        format!("url={}&s=abc&url={}", form_encoded(&a), form_encoded(&b)),
    ] {
        let message = assert_error(
            server.get(&format!("/w_10?{query}")).await,
            400,
            "repeated_parameter",
        )
        .await;
        assert!(message.contains("`url`"), "{message}");
    }
    let query = format!("url={}&s=abc&s=def", form_encoded(&a));
    let message = assert_error(
        server.get(&format!("/w_10?{query}")).await,
        400,
        "repeated_parameter",
    )
    .await;
    assert!(message.contains("`s`"), "{message}");
    // A repeated token in the transformation is refused as well.
    assert_error(
        server.get(&format!("/w_10,w_20?url={}", form_encoded(&a))).await,
        400,
        "repeated_token",
    )
    .await;
    assert_eq!(origin.total_hits(), 0, "nothing is fetched for a refused request");
}

#[tokio::test]
async fn a_plus_in_a_form_encoded_url_is_a_space() {
    let (server, origin) = setup().await;
    // What Python's urlencode, PHP and Java write for `/img/with space.png`.
    let encoded = form_encoded(&origin.url("/img/with space.png"));
    assert!(encoded.contains("with+space"), "{encoded}");
    let response = server.get(&format!("/w_20?url={encoded}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(decode(&response.bytes().await.unwrap()).width, 20);
    assert_eq!(origin.hits("/img/with space.png"), 1);
    // The same with the plus written as `%2B` names the other file.
    let encoded = form_encoded(&origin.url("/img/a+b.png"));
    assert!(encoded.contains("a%2Bb"), "{encoded}");
    assert_eq!(server.get(&format!("/w_21?url={encoded}")).await.status(), 200);
    assert_eq!(origin.hits("/img/a+b.png"), 1);
}

#[tokio::test]
async fn a_plus_in_a_raw_url_stays_a_plus() {
    let (server, origin) = setup().await;
    let response = server
        .get(&format!("/w_20?url={}", origin.url("/img/a+b.png")))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(origin.hits("/img/a+b.png"), 1);
    assert_eq!(origin.hits("/img/a b.png"), 0);
}

#[tokio::test]
async fn other_methods_are_a_json_405() {
    let (server, origin) = setup().await;
    let response = server.client.post(server.url("/health")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET,HEAD");
    let message = assert_error(response, 405, "method_not_allowed").await;
    assert!(message.contains("POST"), "{message}");
    let url = server.url(&format!("/w_10?url={}", origin.url("/img/four.png")));
    let response = server.client.delete(url).send().await.unwrap();
    assert_error(response, 405, "method_not_allowed").await;
    assert_eq!(origin.total_hits(), 0);
}

#[tokio::test]
async fn favicon_is_a_json_404() {
    let (server, _origin) = setup().await;
    assert_error(server.get("/favicon.ico").await, 404, "not_found").await;
}

#[tokio::test]
async fn not_modified_carries_no_length() {
    let (server, origin) = setup().await;
    let url = server.url(&format!("/w_50?url={}", origin.url("/img/four.png")));
    let etag = server.client.get(&url).send().await.unwrap().headers()["etag"].clone();
    for request in [server.client.head(&url), server.client.get(&url)] {
        let response = request
            .header("if-none-match", etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 304);
        assert_eq!(response.headers()["etag"], etag);
        assert_eq!(
            response.headers().get("content-length"),
            None,
            "{:?}",
            response.headers()
        );
        assert!(response.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_busy_metrics_address_says_it_is_the_metrics_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = config();
    config.metrics = resizer::config::MetricsAddr::Separate(taken.local_addr().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        resizer::serve(listener, config, std::future::pending()),
    )
    .await
    .expect("start-up fails at once");
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("metrics") && message.contains("RESIZER_METRICS"),
        "{message}"
    );
}

// ---------------------------------------------------------------- the process

#[test]
fn start_up_errors_name_the_environment_variable() {
    let out = resizer().env("RESIZER_CONCURRENCY", "-1").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("RESIZER_CONCURRENCY") && stderr.contains("-1"),
        "{stderr}"
    );

    let out = resizer()
        .env("RESIZER_ALLOW_PRIVATE_NETWORKS", "maybe")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("RESIZER_ALLOW_PRIVATE_NETWORKS"), "{stderr}");

    let out = resizer().env("RESIZER_LOG", "warnn").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("RESIZER_LOG") && stderr.contains("warnn"),
        "{stderr}"
    );
}

#[test]
fn version_names_features_and_codecs() {
    let out = resizer().arg("--version").output().unwrap();
    assert!(out.status.success());
    let version = String::from_utf8(out.stdout).unwrap();
    assert!(
        version.starts_with(&format!("resizer {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let features = if cfg!(feature = "turbo") {
        "features: turbo"
    } else {
        "features: none"
    };
    assert!(version.contains(features), "{version}");
    for codec in ["jpeg-decoder", "png", "gif", "image-webp", "ravif"] {
        assert!(
            version.contains(&format!("{codec} ")),
            "{codec} missing: {version}"
        );
    }
}

/// A server process whose stderr (the log) is a pipe, read line by line.
struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Process {
    fn start(extra_env: &[(&str, &str)]) -> (Process, String) {
        let mut command = resizer();
        command
            .args(["--bind", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = Process { child, lines };
        let listening = process.line_with("resizer listening");
        let addr = listening.rsplit("addr=").next().unwrap().trim().to_owned();
        (process, addr)
    }

    fn line_with(&mut self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("no log line with `{needle}`"));
            if line.contains(needle) {
                return line;
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let start = line
        .find(&format!(" {name}="))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
        + name.len()
        + 2;
    line[start..].split(' ').next().unwrap()
}

#[tokio::test]
async fn the_request_log_tells_what_was_sent_without_colour_codes() {
    let origin = Origin::start().await;
    origin.add(
        "four.png",
        "image/png",
        encode_png(200, 100, false, &quadrants(200, 100)),
    );
    let (mut process, addr) = Process::start(&[("RESIZER_ALLOW_PRIVATE_NETWORKS", "1")]);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://{addr}");

    let health = client
        .get(format!("{base}/health"))
        .header("x-request-id", "health-1")
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let line = process.line_with("request_id=health-1");
    assert!(!line.contains('\u{1b}'), "colour codes in a pipe: {line:?}");
    assert_eq!(field(&line, "bytes"), "2", "{line}");
    let ms = field(&line, "ms");
    assert!(
        ms.split('.').nth(1).is_none_or(|decimals| decimals.len() <= 3),
        "{line}"
    );

    let missing = client
        .get(format!("{base}/a/b"))
        .header("x-request-id", "missing-1")
        .send()
        .await
        .unwrap();
    let body_length = missing.bytes().await.unwrap().len();
    let line = process.line_with("request_id=missing-1");
    assert_eq!(field(&line, "bytes"), body_length.to_string(), "{line}");
    assert!(
        line.contains(" INFO "),
        "a client fault is logged at info: {line}"
    );

    let image = format!("{base}/w_50?url={}", origin.url("/img/four.png"));
    let get = client
        .get(&image)
        .header("x-request-id", "get-1")
        .send()
        .await
        .unwrap();
    let length = get.bytes().await.unwrap().len();
    let line = process.line_with("request_id=get-1");
    assert_eq!(field(&line, "bytes"), length.to_string(), "{line}");
    client
        .head(&image)
        .header("x-request-id", "head-1")
        .send()
        .await
        .unwrap();
    let line = process.line_with("request_id=head-1");
    assert_eq!(field(&line, "bytes"), "0", "a HEAD sends no body: {line}");

    // An origin that cannot be reached is its fault, not ours: warn.
    let unreachable = {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        closed.local_addr().unwrap()
    };
    let response = client
        .get(format!("{base}/w_50?url=http://{unreachable}/x.png"))
        .header("x-request-id", "upstream-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let line = process.line_with("request_id=upstream-1");
    assert!(
        line.contains(" WARN "),
        "an upstream fault is logged at warn: {line}"
    );
}
