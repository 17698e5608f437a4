//! Mounts (README, "Mounts"): a folder and an HTTP origin served by path,
//! through the same pipeline, caches and errors as `?url=`, and never a way
//! out of a mount. Paths that a client library would normalise are sent raw.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use resizer::Config;
use resizer::source::parse_mounts;

use crate::support::*;

/// A temporary folder, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new(label: &str) -> Folder {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("resizer-mounts-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Folder(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const COFFEE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/photo-coffee.jpg");

/// A folder `root/` holding `photos/coffee.jpg` (600x400), `q.png` (40x20
/// quadrants) and `photos/empty-dir/`, beside a `secret.jpg` outside it.
fn disk() -> (Folder, PathBuf) {
    let folder = Folder::new("disk");
    let root = folder.path().join("root");
    std::fs::create_dir_all(root.join("photos/empty-dir")).unwrap();
    std::fs::copy(COFFEE, root.join("photos/coffee.jpg")).unwrap();
    std::fs::write(root.join("q.png"), png_quadrants(40, 20)).unwrap();
    std::fs::copy(COFFEE, folder.path().join("secret.jpg")).unwrap();
    (folder, root)
}

/// A PNG of `width x height` quadrants (red top left).
fn png_quadrants(width: u32, height: u32) -> Vec<u8> {
    encode_png(width, height, false, &quadrants(width, height))
}

fn with_mounts(mut config: Config, mounts: &str) -> Config {
    config.mounts = parse_mounts(mounts).unwrap();
    config
}

fn file_mount(root: &Path) -> String {
    format!("disk={}", url::Url::from_file_path(root).unwrap())
}

#[tokio::test]
async fn a_folder_serves_files_by_path_through_the_pipeline() {
    let (_folder, root) = disk();
    let server = Server::start(with_mounts(config(), &file_mount(&root))).await;

    let response = server.get("/w_300,f_png/disk/photos/coffee.jpg").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.format, image.width, image.height), ("png", 300, 200));

    // The empty transformation: the source as it is.
    let response = server.get("/disk/photos/coffee.jpg").await;
    assert_eq!(response.status(), 200);
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.format, image.width, image.height), ("jpeg", 600, 400));

    let quadrants = decode(&server.get("/w_20/disk/q.png").await.bytes().await.unwrap());
    assert_eq!((quadrants.width, quadrants.height), (20, 10));
    quadrants.assert_colour(1, 1, [255, 0, 0], 16);
    quadrants.assert_colour(18, 8, [255, 255, 0], 16);

    // ETag and 304, as for `?url=`.
    let again = server
        .client
        .get(server.url("/w_300,f_png/disk/photos/coffee.jpg"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // f_auto varies on Accept.
    let auto = server
        .client
        .get(server.url("/w_50,f_auto/disk/photos/coffee.jpg"))
        .header("accept", "image/webp,*/*")
        .send()
        .await
        .unwrap();
    assert_eq!(auto.status(), 200);
    assert_eq!(auto.headers()["content-type"], "image/webp");
    assert_eq!(auto.headers()["vary"], "Accept");

    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("resizer_source_bytes_total{source=\"file\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("resizer_fetch_duration_seconds_count{source=\"file\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn every_spelling_of_a_way_out_is_400_invalid_key() {
    let (_folder, root) = disk();
    let server = Server::start(with_mounts(config(), &file_mount(&root))).await;
    let long = "a".repeat(1025);
    let paths = [
        "/disk/../secret.jpg".to_owned(),
        "/disk/photos/../../secret.jpg".to_owned(),
        "/disk/%2e%2e/secret.jpg".to_owned(),
        "/disk/%2E%2E/secret.jpg".to_owned(),
        "/disk/.%2E/secret.jpg".to_owned(),
        "/disk/%2e./secret.jpg".to_owned(),
        "/disk/..%2Fsecret.jpg".to_owned(),
        "/disk/..%2fsecret.jpg".to_owned(),
        "/disk/photos%2F..%2F..%2Fsecret.jpg".to_owned(),
        "/disk/./photos/coffee.jpg".to_owned(),
        "/disk/photos/%2e/coffee.jpg".to_owned(),
        "/disk/photos//coffee.jpg".to_owned(),
        "/disk//secret.jpg".to_owned(),
        "/disk/..\\secret.jpg".to_owned(),
        "/disk/..%5Csecret.jpg".to_owned(),
        "/disk/..%5csecret.jpg".to_owned(),
        "/disk/photos/coffee.jpg%00.png".to_owned(),
        "/disk/photos/coffee%0A.jpg".to_owned(),
        "/disk/photos/".to_owned(),
        "/disk/".to_owned(),
        "/disk".to_owned(),
        "/w_10/disk/".to_owned(),
        "/w_10/disk/%2e%2e/secret.jpg".to_owned(),
        "/w_10/disk/../secret.jpg".to_owned(),
        format!("/disk/{long}"),
    ];
    for path in &paths {
        let (status, body) = raw_get(server.addr, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains("\"invalid_key\""), "{path}: {body}");
    }
    // The file itself is there: only the spelling was refused.
    let (status, _) = raw_get(server.addr, "/disk/photos/coffee.jpg").await;
    assert_eq!(status, 200);
    // Encoded once, a name is a name.
    std::fs::copy(COFFEE, root.join("a b.jpg")).unwrap();
    let (status, _) = raw_get(server.addr, "/disk/a%20b.jpg").await;
    assert_eq!(status, 200);
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_out_are_refused_and_symlinks_in_are_served() {
    let (folder, root) = disk();
    std::os::unix::fs::symlink(folder.path().join("secret.jpg"), root.join("out.jpg")).unwrap();
    std::os::unix::fs::symlink(folder.path(), root.join("up")).unwrap();
    std::os::unix::fs::symlink(root.join("photos/coffee.jpg"), root.join("in.jpg")).unwrap();
    std::os::unix::fs::symlink("photos", root.join("pics")).unwrap();
    let server = Server::start(with_mounts(config(), &file_mount(&root))).await;
    for path in ["/disk/out.jpg", "/disk/up/secret.jpg", "/w_10/disk/up/secret.jpg"] {
        assert_error(server.get(path).await, 404, "source_not_found").await;
    }
    for path in ["/disk/in.jpg", "/disk/pics/coffee.jpg"] {
        let response = server.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(decode(&response.bytes().await.unwrap()).width, 600);
    }
}

#[cfg(unix)]
#[tokio::test]
async fn fifos_folders_and_missing_files_are_404_without_hanging() {
    let (_folder, root) = disk();
    let made = std::process::Command::new("mkfifo")
        .arg(root.join("pipe.jpg"))
        .status()
        .unwrap();
    assert!(made.success());
    let server = Server::start(with_mounts(config(), &file_mount(&root))).await;
    let started = Instant::now();
    let (status, body) = raw_get(server.addr, "/disk/pipe.jpg").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("source_not_found"), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    for path in [
        "/disk/photos",
        "/disk/photos/empty-dir",
        "/disk/nothing.jpg",
        "/disk/q.png/x",
    ] {
        let message = assert_error(server.get(path).await, 404, "source_not_found").await;
        assert!(!message.contains(&root.display().to_string()), "{message}");
    }
}

#[tokio::test]
async fn a_huge_sparse_file_is_413_from_its_size() {
    let (_folder, root) = disk();
    let file = std::fs::File::create(root.join("huge.jpg")).unwrap();
    file.set_len(50 << 30).unwrap();
    let server = Server::start(with_mounts(config(), &file_mount(&root))).await;
    let started = Instant::now();
    assert_error(server.get("/w_10/disk/huge.jpg").await, 413, "source_too_large").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Just over a small cap is refused too, and just under it served.
    let mut config = with_mounts(config(), &file_mount(&root));
    config.max_src_bytes = std::fs::metadata(COFFEE).unwrap().len() - 1;
    let small = Server::start(config).await;
    assert_error(
        small.get("/disk/photos/coffee.jpg").await,
        413,
        "source_too_large",
    )
    .await;
    assert_eq!(small.get("/disk/q.png").await.status(), 200);
}

#[tokio::test]
async fn unknown_mounts_are_named_and_other_paths_keep_their_answers() {
    let (_folder, root) = disk();
    let origin = Origin::start().await;
    origin.add("a.png", "image/png", png_quadrants(40, 20));
    let server = Server::start(with_mounts(config(), &file_mount(&root))).await;
    let message = assert_error(server.get("/w_10/elsewhere/a.jpg").await, 404, "unknown_mount").await;
    assert!(message.contains("`elsewhere`"), "{message}");
    let message = assert_error(server.get("/elsewhere/a.jpg").await, 404, "unknown_mount").await;
    assert!(message.contains("`elsewhere`"), "{message}");
    // The existing routes answer as before.
    assert_eq!(server.get("/health").await.text().await.unwrap(), "OK");
    let response = server
        .get(&format!("/w_10?url={}", origin.url("/img/a.png")))
        .await;
    assert_eq!(response.status(), 200);
    assert_error(server.get("/w_10,zz_1/disk/q.png").await, 400, "unknown_token").await;
    // A mount path answers GET and HEAD only.
    let post = server
        .client
        .post(server.url("/disk/q.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.headers()["allow"], "GET,HEAD");
    assert_error(post, 405, "method_not_allowed").await;
    let head = server
        .client
        .head(server.url("/disk/q.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "image/png");
    // Without mounts, a longer path is the plain 404 it always was.
    let plain = Server::start(config()).await;
    assert_error(plain.get("/w_10/disk/q.png").await, 404, "not_found").await;
}

#[tokio::test]
async fn remote_urls_off_refuses_every_url_and_serves_mounts() {
    let (_folder, root) = disk();
    let origin = Origin::start().await;
    origin.add("a.png", "image/png", png_quadrants(40, 20));
    let mut config = with_mounts(config(), &file_mount(&root));
    config.remote_urls = false;
    let server = Server::start(config).await;
    for path in [
        format!("/w_10?url={}", origin.url("/img/a.png")),
        format!("/?url={}", origin.url("/img/a.png")),
        "/w_10?url=https://example.com/a.jpg".to_owned(),
    ] {
        assert_error(server.get(&path).await, 403, "remote_urls_disabled").await;
    }
    assert_eq!(origin.total_hits(), 0);
    assert_eq!(server.get("/w_10/disk/q.png").await.status(), 200);
}

#[tokio::test]
async fn signing_covers_the_raw_path() {
    let (_folder, root) = disk();
    let key = "0123456789abcdef0123";
    let mut config = with_mounts(config(), &file_mount(&root));
    config.signing_keys = vec![key.as_bytes().to_vec()];
    let server = Server::start(config).await;
    let path = "/w_20/disk/photos/coffee.jpg";
    assert_error(server.get(path).await, 403, "signature_missing").await;
    let signed = resizer::convert::sign(key.as_bytes(), path, &Default::default()).unwrap();
    let response = server.get(&signed).await;
    assert_eq!(response.status(), 200, "{signed}");
    assert_eq!(decode(&response.bytes().await.unwrap()).width, 20);
    // The same signature on another spelling of the path is refused.
    let (_, signature) = signed.split_once("?s=").unwrap();
    let (status, body) = raw_get(
        server.addr,
        &format!("/w_20/disk/photos/%63offee.jpg?s={signature}"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("signature_invalid"), "{body}");
    let (status, _) = raw_get(
        server.addr,
        &format!("/w_21/disk/photos/coffee.jpg?s={signature}"),
    )
    .await;
    assert_eq!(status, 403);
    // An invalid key is refused before the signature is checked.
    let (status, body) = raw_get(server.addr, "/disk/%2e%2e/secret.jpg").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn an_http_mount_is_trusted_and_its_redirects_are_guarded() {
    let origin = Origin::start().await;
    let port = origin.addr.unwrap().port();
    origin.add("a.png", "image/png", png_quadrants(40, 20));
    origin.add_redirect("same.png", &origin.url("/img/a.png"));
    origin.add_redirect("away.png", &format!("http://localhost:{port}/img/a.png"));
    // The service's guard stays closed (no private networks, an allow-list
    // without this host); only the mount's own origin is trusted.
    let mut config = with_mounts(config(), &format!("web={}", origin.url("/img/")));
    config.allow_private_networks = false;
    config.allowed_sources = vec!["images.example.com".into()];
    let server = Server::start_exact(config).await;

    let response = server.get("/w_20/web/a.png").await;
    assert_eq!(response.status(), 200);
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.width, image.height), (20, 10));
    // A second transformation of the same object reads it once (source
    // cache keyed on mount and key).
    assert_eq!(server.get("/w_10/web/a.png").await.status(), 200);
    assert_eq!(origin.hits("/img/a.png"), 1);
    // The same origin is not trusted through `?url=`.
    assert_error(
        server
            .get(&format!("/w_10?url={}", origin.url("/img/a.png")))
            .await,
        403,
        "source_not_allowed",
    )
    .await;
    // A redirect within the mount's origin is followed; to another host it
    // is judged as a `?url=` hop: here, a host outside the allow-list...
    assert_eq!(server.get("/w_10/web/same.png").await.status(), 200);
    assert_error(server.get("/w_10/web/away.png").await, 403, "source_not_allowed").await;
    // The origin's 404 is a missing object.
    assert_error(server.get("/w_10/web/none.png").await, 404, "source_not_found").await;
    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("resizer_source_bytes_total{source=\"http\"}"),
        "{metrics}"
    );

    // ...without an allow-list, a port outside `allowed_ports`...
    let mut config = with_mounts(crate::support::config(), &format!("web={}", origin.url("/img/")));
    config.allow_private_networks = false;
    let open = Server::start_exact(config.clone()).await;
    assert_eq!(open.get("/w_10/web/same.png").await.status(), 200);
    assert_error(open.get("/w_10/web/away.png").await, 403, "port_not_allowed").await;
    // ...and with that port allowed, a private address (localhost resolves
    // to 127.0.0.1, the mount's own address, but by another name).
    config.allowed_ports = vec![port];
    let open = Server::start_exact(config).await;
    assert_error(open.get("/w_10/web/away.png").await, 403, "private_address").await;
    assert_error(
        open.get(&format!("/w_10?url={}", origin.url("/img/a.png"))).await,
        403,
        "private_address",
    )
    .await;
}

#[tokio::test]
async fn an_http_mount_trusts_its_own_port_not_its_hosts_other_services() {
    // Two services of one internal host: the mount's origin, and another
    // one on a port the guard allows. The mount is named by host name, so
    // that the resolver (which trusts that name) would connect anywhere.
    let origin = Origin::start().await;
    let other = Origin::start().await;
    let other_port = other.addr.unwrap().port();
    other.add("secret.png", "image/png", png_quadrants(40, 20));
    origin.add("a.png", "image/png", png_quadrants(40, 20));
    origin.add_redirect(
        "elsewhere.png",
        &format!("http://localhost:{other_port}/img/secret.png"),
    );
    let base = format!("http://localhost:{}/img/", origin.addr.unwrap().port());
    let mut config = with_mounts(crate::support::config(), &format!("web={base}"));
    config.allow_private_networks = false;
    config.allowed_ports = vec![80, 443, other_port];
    let server = Server::start_exact(config).await;

    assert_eq!(server.get("/w_10/web/a.png").await.status(), 200);
    assert_error(
        server.get("/w_10/web/elsewhere.png").await,
        403,
        "port_not_allowed",
    )
    .await;
    assert_eq!(
        other.hits("/img/secret.png"),
        0,
        "the other service was never asked"
    );
}

#[tokio::test]
async fn identical_concurrent_mount_requests_read_the_object_once() {
    let origin = Origin::start().await;
    origin.add("a.png", "image/png", png_quadrants(400, 200));
    let server = Server::start(with_mounts(config(), &format!("web={}", origin.url("/img/")))).await;
    let requests = (0..8).map(|_| server.get("/w_33/web/a.png"));
    for response in futures_util::future::join_all(requests).await {
        assert_eq!(response.status(), 200);
    }
    assert_eq!(origin.hits("/img/a.png"), 1);
}

#[test]
fn bad_mounts_stop_the_start_with_a_clear_message() {
    for (mounts, expected) in [
        ("health=https://a.example/", "routes itself"),
        ("a=https://a.example/,a=https://b.example/", "twice"),
        ("w_1=https://a.example/", "must be"),
        ("a=file:///no/such/folder/anywhere", "cannot be read"),
    ] {
        let out = resizer()
            .env("RESIZER_MOUNTS", mounts)
            .env("RESIZER_BIND", "127.0.0.1:0")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{mounts}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("RESIZER_MOUNTS"), "{stderr}");
        assert!(stderr.contains(expected), "{mounts}: {stderr}");
    }
}

#[test]
fn sign_signs_a_mount_path() {
    let key = "0123456789abcdef0123";
    let out = resizer()
        .args(["sign", "--key", key, "/w_150,h_100/photos/products/42.jpg"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let signed = String::from_utf8(out.stdout).unwrap();
    let (path, signature) = signed.trim().split_once("?s=").unwrap();
    assert_eq!(path, "/w_150,h_100/photos/products/42.jpg");
    let verifier = resizer::signing::Verifier::new(vec![key.as_bytes().to_vec()]);
    assert_eq!(
        verifier.verify_path("w_150,h_100/photos/products/42.jpg", Some(signature)),
        Ok(())
    );
    let out = resizer()
        .args(["sign", "--key", key, "/w_150/photos/../42.jpg"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(".."));
    let help = resizer().args(["sign", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("/photos/products/42.jpg"));
}

/// The value of a counter line in the metrics text, 0 when absent.
async fn counter(server: &Server, line_start: &str) -> u64 {
    let metrics = server.get("/metrics").await.text().await.unwrap();
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(line_start))
        .map_or(0, |value| value.trim().parse().unwrap())
}

const UNCHANGED: &str = "resizer_source_revalidations_total{outcome=\"unchanged\"} ";
const CHANGED: &str = "resizer_source_revalidations_total{outcome=\"changed\"} ";

#[tokio::test]
async fn stale_sources_are_revalidated_not_downloaded_again() {
    let ttl = Duration::from_millis(400);
    let origin = Origin::start().await;
    origin.add("a.png", "image/png", png_quadrants(40, 20));
    let (_folder, root) = disk();
    let mounts = format!("{},web={}", file_mount(&root), origin.url("/img/"));
    let mut config = with_mounts(config(), &mounts);
    config.cache_ttl = ttl;
    let server = Server::start(config).await;
    let remote = format!("/w_10?url={}", origin.url("/img/a.png"));
    let size = |bytes: &[u8]| {
        let image = decode(bytes);
        (image.width, image.height)
    };

    // First reads: downloaded whole.
    for path in [remote.as_str(), "/w_10/web/a.png", "/w_10/disk/q.png"] {
        let response = server.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(size(&response.bytes().await.unwrap()), (10, 5), "{path}");
    }
    assert_eq!(
        origin.hits("/img/a.png"),
        2,
        "one read by URL, one through the mount"
    );
    assert_eq!(counter(&server, UNCHANGED).await, 0);

    // Past the TTL, the same requests ask the storage whether the copy is
    // current: a 304 from the origin, an unchanged stamp for the file.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    for path in [remote.as_str(), "/w_10/web/a.png", "/w_10/disk/q.png"] {
        let response = server.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(size(&response.bytes().await.unwrap()), (10, 5), "{path}");
    }
    assert_eq!(origin.hits("/img/a.png"), 4);
    assert_eq!(origin.not_modified(), 2, "both origin reads were conditional");
    assert_eq!(counter(&server, UNCHANGED).await, 3);
    assert_eq!(counter(&server, CHANGED).await, 0);

    // Changed at the storage: the next check downloads the new version.
    origin.add("a.png", "image/png", png_quadrants(40, 40));
    std::fs::write(root.join("q.png"), png_quadrants(20, 40)).unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    for (path, expected) in [
        (remote.as_str(), (10, 10)),
        ("/w_10/web/a.png", (10, 10)),
        ("/w_10/disk/q.png", (10, 20)),
    ] {
        let response = server.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(size(&response.bytes().await.unwrap()), expected, "{path}");
    }
    assert_eq!(origin.not_modified(), 2);
    assert_eq!(counter(&server, CHANGED).await, 3);

    // Gone at the storage: a stale copy is not served.
    std::fs::remove_file(root.join("q.png")).unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert_error(server.get("/w_10/disk/q.png").await, 404, "source_not_found").await;
}
