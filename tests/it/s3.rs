//! S3 mounts against a real S3-compatible server: `s3s-fs`, started here on
//! 127.0.0.1 with authentication on (it checks SigV4 signatures against the
//! access key and secret given on its command line), and the `resizer`
//! binary started beside it with the credentials in the environment, the
//! way a deployment passes them.
//!
//! The server is found at `$RESIZER_TEST_S3S_FS` or on PATH, else built
//! once into the target folder (see [`s3s_fs`]); if that fails, these tests
//! fail, saying how to install it.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::*;

const ACCESS_KEY: &str = "resizer-test-access";
const SECRET_KEY: &str = "resizer-test-secret-0123456789";
const BUCKET: &str = "images";
const COFFEE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/photo-coffee.jpg");

/// The version of the S3 test server installed when none is found (the
/// newest that builds with our `rust-version`).
const S3S_FS_VERSION: &str = "0.14.1";

/// The `s3s-fs` binary: `$RESIZER_TEST_S3S_FS`, else on PATH, else built once
/// into the target folder with `cargo install` (crates.io only, about three
/// minutes), so that `cargo test` passes on a fresh machine. A failed install
/// fails the tests, saying what to do; they are never skipped.
fn s3s_fs() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(find_or_install_s3s_fs).clone()
}

fn find_or_install_s3s_fs() -> PathBuf {
    if let Some(path) = std::env::var_os("RESIZER_TEST_S3S_FS") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("s3s-fs"))
            .find(|candidate| candidate.is_file())
    });
    if let Some(path) = on_path {
        return path;
    }
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("s3s-fs");
    let installed = root.join("bin").join("s3s-fs");
    if installed.is_file() {
        return installed;
    }
    let how = format!(
        "install it with `cargo install s3s-fs@{S3S_FS_VERSION} --features binary --locked` \
         (CI does, in .ci/run), or point RESIZER_TEST_S3S_FS at the binary"
    );
    eprintln!(
        "the S3 tests need the s3s-fs server; building it into {}",
        root.display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "install",
            &format!("s3s-fs@{S3S_FS_VERSION}"),
            "--features",
            "binary",
            "--locked",
        ])
        .arg("--root")
        .arg(&root)
        .status()
        .unwrap_or_else(|e| {
            panic!("the S3 tests need the s3s-fs server, and cargo could not run ({e}): {how}")
        });
    assert!(
        status.success() && installed.is_file(),
        "the S3 tests need the s3s-fs server, and `cargo install` failed ({status}): {how}"
    );
    installed
}

/// A port free at the time of asking.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(addr: SocketAddr, child: &mut Child, what: &str) {
    let started = Instant::now();
    while TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what} did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An `s3s-fs` on 127.0.0.1 over a temporary folder whose bucket holds
/// `originals/coffee.jpg`, `originals/huge.jpg` (256 MB, sparse: s3s-fs
/// reads a whole object for its ETag before answering, so a larger one
/// would only test its patience) and `private.jpg` outside the prefix.
struct Storage {
    endpoint: String,
    root: PathBuf,
    _server: Running,
}

impl Storage {
    fn start() -> Storage {
        let binary = s3s_fs();
        let root = std::env::temp_dir().join(format!("resizer-s3-{}-{}", std::process::id(), free_port()));
        let originals = root.join(BUCKET).join("originals");
        std::fs::create_dir_all(&originals).unwrap();
        std::fs::copy(COFFEE, originals.join("coffee.jpg")).unwrap();
        std::fs::copy(COFFEE, root.join(BUCKET).join("private.jpg")).unwrap();
        std::fs::File::create(originals.join("huge.jpg"))
            .unwrap()
            .set_len(256 << 20)
            .unwrap();
        let port = free_port();
        let mut child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        wait_for_port(addr, &mut child, "s3s-fs");
        Storage {
            endpoint: format!("http://{addr}"),
            root,
            _server: Running(child),
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The `resizer` binary serving mount `b` = `s3://images/originals` of
/// `storage`, with `secret` as the secret key; its log goes to `log`.
struct Resizer {
    addr: SocketAddr,
    log: PathBuf,
    process: Option<Running>,
}

impl Resizer {
    fn start(storage: &Storage, secret: &str) -> Resizer {
        Resizer::start_at(&storage.endpoint, &storage.root, secret)
    }

    fn start_at(endpoint: &str, root: &Path, secret: &str) -> Resizer {
        let port = free_port();
        let log = root.with_extension(format!("{port}.log"));
        let mut command = resizer();
        for (key, _) in std::env::vars() {
            if key.starts_with("AWS_") {
                command.env_remove(key);
            }
        }
        let mut child = command
            .env("RESIZER_BIND", format!("127.0.0.1:{port}"))
            .env("RESIZER_MOUNTS", format!("b=s3://{BUCKET}/originals"))
            .env("RESIZER_S3_ENDPOINT", endpoint)
            .env("RESIZER_S3_PATH_STYLE", "on")
            .env("RESIZER_DOWNLOAD_TIMEOUT", "5s")
            // Short enough for a test to see a cached object go stale.
            .env("RESIZER_CACHE_TTL", "1s")
            // Over the coffee photo (80 kB), far under the huge object.
            .env("RESIZER_MAX_SRC_BYTES", "1MB")
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        wait_for_port(addr, &mut child, "resizer");
        Resizer {
            addr,
            log,
            process: Some(Running(child)),
        }
    }

    /// Stops the process and returns its log.
    fn stop(&mut self) -> String {
        self.process.take();
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Resizer {
    fn drop(&mut self) {
        self.process.take();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The `/metrics` text of a running server.
async fn metrics_of(addr: SocketAddr) -> String {
    reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn assert_json_error(answer: &(u16, String), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert!(answer.1.contains(&format!("\"code\":\"{code}\"")), "{}", answer.1);
}

#[tokio::test]
async fn an_s3_mount_serves_objects_under_its_prefix() {
    let storage = Storage::start();
    let mut server = Resizer::start(&storage, SECRET_KEY);

    let response = reqwest::get(format!("http://{}/w_100,f_png/b/coffee.jpg", server.addr))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.format, image.width, image.height), ("png", 100, 67));

    assert_json_error(
        &raw_get(server.addr, "/w_10/b/missing.jpg").await,
        404,
        "source_not_found",
    );
    // The bucket's root is outside the prefix: not reachable by any key.
    assert_json_error(
        &raw_get(server.addr, "/w_10/b/private.jpg").await,
        404,
        "source_not_found",
    );
    for path in [
        "/b/../private.jpg",
        "/b/%2e%2e/private.jpg",
        "/b/..%2Fprivate.jpg",
        "/b/.%2E/private.jpg",
    ] {
        assert_json_error(&raw_get(server.addr, path).await, 400, "invalid_key");
    }

    // 256 MB announced against a 1 MB cap: refused from the size in the
    // answer's headers, without reading the body.
    let started = Instant::now();
    assert_json_error(
        &raw_get(server.addr, "/w_10/b/huge.jpg").await,
        413,
        "source_too_large",
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let metrics = metrics_of(server.addr).await;
    assert!(
        metrics.contains("resizer_source_bytes_total{source=\"s3\"}"),
        "{metrics}"
    );
    // The mount's name alone has no key: refused, and logged with the mount.
    assert_json_error(&raw_get(server.addr, "/b").await, 400, "invalid_key");
    let log = server.stop();
    assert!(
        log.contains("mount=b") || log.contains("mount: b") || log.contains("mount=\"b\""),
        "{log}"
    );
    let bare = log
        .lines()
        .find(|line| line.contains("uri=/b ") && line.contains("status=400"))
        .unwrap_or_else(|| panic!("no log line for GET /b: {log}"));
    assert!(bare.contains("mount=b") || bare.contains("mount=\"b\""), "{bare}");
    assert!(!log.contains(SECRET_KEY), "{log}");
}

#[tokio::test]
async fn a_stale_s3_object_is_checked_again_and_a_new_version_served() {
    let storage = Storage::start();
    let server = Resizer::start(&storage, SECRET_KEY);
    let size = || async {
        let response = reqwest::get(format!("http://{}/w_100/b/swap.png", server.addr))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let image = decode(&response.bytes().await.unwrap());
        (image.width, image.height)
    };
    let object = storage.root.join(BUCKET).join("originals/swap.png");
    std::fs::write(&object, encode_png(400, 200, false, &quadrants(400, 200))).unwrap();
    // Asked for twice: the caches keep it from its second request on.
    assert_eq!(size().await, (100, 50));
    assert_eq!(size().await, (100, 50));
    // Replaced at the storage: within the TTL the cached copy serves...
    std::fs::write(&object, encode_png(200, 400, false, &quadrants(200, 400))).unwrap();
    assert_eq!(size().await, (100, 50));
    // ...past it, the object is asked for again (with the ETag of the copy)
    // and the new version is served.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(size().await, (100, 200));
    let metrics = metrics_of(server.addr).await;
    assert!(
        metrics.contains("resizer_source_revalidations_total{outcome=\"changed\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn refused_credentials_are_502_upstream_denied_with_the_storage_code_in_the_log() {
    let storage = Storage::start();
    let mut server = Resizer::start(&storage, "not-the-secret-at-all-0000");
    assert_json_error(
        &raw_get(server.addr, "/w_10/b/coffee.jpg").await,
        502,
        "upstream_denied",
    );
    let log = server.stop();
    assert!(
        log.contains("SignatureDoesNotMatch")
            || log.contains("InvalidAccessKeyId")
            || log.contains("AccessDenied"),
        "{log}"
    );
    assert!(!log.contains("not-the-secret-at-all-0000"), "{log}");
}

#[tokio::test]
async fn unreachable_storage_is_502() {
    // A port nothing listens on.
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let root = std::env::temp_dir().join(format!("resizer-s3-unreachable-{}", std::process::id()));
    let server = Resizer::start_at(&endpoint, &root, SECRET_KEY);
    let started = Instant::now();
    let answer = raw_get(server.addr, "/w_10/b/coffee.jpg").await;
    assert!(answer.0 == 502 || answer.0 == 504, "{answer:?}");
    assert!(
        answer.1.contains("upstream_unreachable") || answer.1.contains("upstream_timeout"),
        "{answer:?}"
    );
    // Retries stop at the download deadline (5 s here).
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

/// A TCP proxy in front of `target` that answers its first `failures`
/// connections with `503 SlowDown` (S3's throttling answer) and passes the
/// rest through byte for byte (a SigV4 signature covers the Host header the
/// client wrote, which the proxy does not touch). Returns its endpoint and
/// the count of connections it took.
async fn throttling_proxy(
    target: SocketAddr,
    failures: usize,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&connections);
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let n = counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if n < failures {
                    // Read the request head, then refuse it.
                    let mut head = Vec::new();
                    let mut buffer = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match client.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let body =
                        "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>";
                    let answer = format!(
                        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = client.write_all(answer.as_bytes()).await;
                    let _ = client.shutdown().await;
                } else if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (format!("http://{addr}"), connections)
}

#[tokio::test]
async fn throttled_reads_are_retried_within_the_download_deadline() {
    use std::sync::atomic::Ordering;
    let storage = Storage::start();
    let target: SocketAddr = storage.endpoint.trim_start_matches("http://").parse().unwrap();

    // Two throttled answers, then the storage: retried with backoff, served.
    let (endpoint, connections) = throttling_proxy(target, 2).await;
    let server = Resizer::start_at(&endpoint, &storage.root, SECRET_KEY);
    let response = reqwest::get(format!("http://{}/w_100/b/coffee.jpg", server.addr))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(decode(&response.bytes().await.unwrap()).width, 100);
    assert!(
        connections.load(Ordering::SeqCst) >= 3,
        "the two 503s were retried"
    );

    // Throttled for ever: the retries stop at the download deadline (5 s).
    let (endpoint, connections) = throttling_proxy(target, usize::MAX).await;
    let server = Resizer::start_at(&endpoint, &storage.root.with_extension("always"), SECRET_KEY);
    let started = Instant::now();
    let answer = raw_get(server.addr, "/w_100/b/coffee.jpg").await;
    assert!(answer.0 == 502 || answer.0 == 504, "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(
        connections.load(Ordering::SeqCst) >= 3,
        "it was retried before giving up"
    );
}
