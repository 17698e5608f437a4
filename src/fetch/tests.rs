//! Tests of URL parsing, the redirect check, error mapping, and whole
//! downloads against a tiny origin on `127.0.0.1:0` that counts its hits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::config::Config;

fn config(private: bool, sources: &[&str], ports: &[u16]) -> Config {
    let mut config = Config::defaults();
    config.allow_private_networks = private;
    config.allowed_sources = sources.iter().map(|s| s.to_string()).collect();
    config.allowed_ports = ports.to_vec();
    config
}

fn strict() -> Guard {
    Guard::new(&config(false, &[], &[80, 443]))
}

fn open() -> Guard {
    Guard::new(&config(true, &[], &[80, 443]))
}

// ---------------------------------------------------------------- parsing

#[test]
fn odd_ipv4_spellings_all_reach_the_address_check() {
    for raw in [
        "http://127.0.0.1/a.jpg",
        "http://2130706433/a.jpg",
        "http://0x7f000001/a.jpg",
        "http://0x7f.0.0.1/a.jpg",
        "http://0177.0.0.1/a.jpg",
        "http://127.1/a.jpg",
        "http://127.0.1/a.jpg",
        "http://017700000001/a.jpg",
        "http://127.000.000.001/a.jpg",
        "http://%31%32%37.0.0.1/a.jpg",
        "HTTP://127.0.0.1./a.jpg",
    ] {
        let err = SourceUrl::parse(raw, &strict()).unwrap_err();
        assert_eq!(
            err,
            FetchError::PrivateAddress("127.0.0.1 (loopback)".into()),
            "{raw}"
        );
    }
}

#[test]
fn other_private_literals_are_refused() {
    for raw in [
        "http://169.254.169.254/latest/meta-data/",
        "http://0/",
        "http://0.0.0.0/",
        "http://10.1.2.3/",
        "http://[::1]/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        "http://100.64.0.1/",
        "http://[::ffff:10.0.0.1]/",
    ] {
        let err = SourceUrl::parse(raw, &strict()).unwrap_err();
        assert!(matches!(err, FetchError::PrivateAddress(_)), "{raw}: {err:?}");
        // The same literal is fine for local development.
        SourceUrl::parse(raw, &open()).unwrap();
    }
}

#[test]
fn public_urls_parse_and_normalise() {
    let url = SourceUrl::parse("https://i.imgflip.com/ujm8r.jpg", &strict()).unwrap();
    assert_eq!(url.as_str(), "https://i.imgflip.com/ujm8r.jpg");
    let url = SourceUrl::parse("  HTTP://Example.COM:80/a b.jpg  ", &strict()).unwrap();
    assert_eq!(url.as_str(), "http://example.com/a%20b.jpg");
    SourceUrl::parse("http://8.8.8.8/a.png", &strict()).unwrap();
    SourceUrl::parse("http://[2606:4700::1]/a.png", &strict()).unwrap();
}

#[test]
fn relative_and_malformed_urls_are_explained() {
    for raw in ["/images/a.jpg", "example.com/a.jpg", "a.jpg", ""] {
        let FetchError::InvalidUrl(message) = SourceUrl::parse(raw, &strict()).unwrap_err() else {
            panic!("{raw} should be an invalid URL");
        };
        assert!(message.contains("absolute URL"), "{raw}: {message}");
    }
    for raw in [
        "http://",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "http://[::1/",
    ] {
        let err = SourceUrl::parse(raw, &strict()).unwrap_err();
        assert!(matches!(err, FetchError::InvalidUrl(_)), "{raw}: {err:?}");
    }
    // Long input is quoted only in part.
    let long = format!("/{}", "a".repeat(5000));
    let message = SourceUrl::parse(&long, &strict()).unwrap_err().to_string();
    assert!(message.len() < 400, "{message}");
}

#[test]
fn only_http_and_https() {
    for (raw, scheme) in [
        ("ftp://example.com/a.jpg", "ftp"),
        ("file:///etc/passwd", "file"),
        ("gopher://example.com/", "gopher"),
        ("data:image/png;base64,AAAA", "data"),
        ("javascript:alert(1)", "javascript"),
        ("ws://example.com/", "ws"),
    ] {
        assert_eq!(
            SourceUrl::parse(raw, &open()).unwrap_err(),
            FetchError::UnsupportedScheme(scheme.into()),
            "{raw}"
        );
    }
}

#[test]
fn userinfo_is_refused() {
    for raw in [
        "http://user@example.com/a.jpg",
        "http://user:pass@example.com/a.jpg",
        "http://:pass@example.com/a.jpg",
        "http://example.com@127.0.0.1/a.jpg",
        "http://images.example.com@evil.example/a.jpg",
    ] {
        let err = SourceUrl::parse(raw, &open()).unwrap_err();
        let FetchError::InvalidUrl(message) = err else {
            panic!("{raw}: {err:?}");
        };
        assert!(message.contains("user name or password"), "{message}");
    }
    // A backslash is a path separator for http: the host is the first name.
    let guard = Guard::new(&config(false, &["images.example.com"], &[80, 443]));
    let url = SourceUrl::parse("http://images.example.com\\@evil.example/", &guard).unwrap();
    assert!(
        url.as_str().starts_with("http://images.example.com/"),
        "{}",
        url.as_str()
    );
}

#[test]
fn ports_follow_the_policy() {
    let guard = strict();
    SourceUrl::parse("http://example.com:80/", &guard).unwrap();
    SourceUrl::parse("https://example.com:443/", &guard).unwrap();
    SourceUrl::parse("https://example.com/", &guard).unwrap();
    assert_eq!(
        SourceUrl::parse("http://example.com:8080/", &guard).unwrap_err(),
        FetchError::PortNotAllowed(8080)
    );
    assert_eq!(
        SourceUrl::parse("http://example.com:22/", &guard).unwrap_err(),
        FetchError::PortNotAllowed(22)
    );
    assert_eq!(
        SourceUrl::parse("http://example.com:443/", &Guard::new(&config(false, &[], &[80]))).unwrap_err(),
        FetchError::PortNotAllowed(443)
    );
    let custom = Guard::new(&config(false, &[], &[8080]));
    SourceUrl::parse("http://example.com:8080/", &custom).unwrap();
    SourceUrl::parse("http://example.com:6379/", &open()).unwrap();
}

#[test]
fn allowed_sources_apply_to_the_parsed_host() {
    let guard = Guard::new(&config(
        false,
        &["images.example.com", "*.cdn.example.org"],
        &[80, 443],
    ));
    SourceUrl::parse("https://images.example.com/a.jpg", &guard).unwrap();
    SourceUrl::parse("https://IMAGES.EXAMPLE.COM./a.jpg", &guard).unwrap();
    SourceUrl::parse("https://eu.cdn.example.org/a.jpg", &guard).unwrap();
    for (raw, host) in [
        ("https://example.com/a.jpg", "example.com"),
        ("https://cdn.example.org/a.jpg", "cdn.example.org"),
        ("https://evilcdn.example.org/a.jpg", "evilcdn.example.org"),
        (
            "https://images.example.com.evil.net/a.jpg",
            "images.example.com.evil.net",
        ),
        ("https://evil.net/images.example.com", "evil.net"),
        ("https://evil.net/?images.example.com", "evil.net"),
        ("https://evil.net#@images.example.com", "evil.net"),
    ] {
        assert_eq!(
            SourceUrl::parse(raw, &guard).unwrap_err(),
            FetchError::HostNotAllowed(host.into()),
            "{raw}"
        );
    }
}

// ---------------------------------------------------------------- redirects

#[test]
fn redirect_hops_are_counted() {
    let guard = open();
    let next = Url::parse("http://example.com/next").unwrap();
    // `requested` counts the original request too: the first redirect sees 1.
    assert_eq!(check_redirect(&guard, &next, 1, 5), Ok(()));
    assert_eq!(check_redirect(&guard, &next, 5, 5), Ok(()));
    assert_eq!(
        check_redirect(&guard, &next, 6, 5),
        Err(FetchError::TooManyRedirects(5))
    );
    assert_eq!(
        check_redirect(&guard, &next, 1, 0),
        Err(FetchError::TooManyRedirects(0))
    );
}

#[test]
fn redirect_hops_pass_the_static_checks() {
    let guard = Guard::new(&config(false, &["*.example.com"], &[80, 443]));
    let hop = |u: &str| check_redirect(&guard, &Url::parse(u).unwrap(), 1, 5);
    assert_eq!(hop("https://img.example.com/a.jpg"), Ok(()));
    assert_eq!(
        hop("https://evil.net/a.jpg"),
        Err(FetchError::HostNotAllowed("evil.net".into()))
    );
    assert_eq!(
        hop("file:///etc/passwd"),
        Err(FetchError::UnsupportedScheme("file".into()))
    );
    assert_eq!(
        hop("ftp://img.example.com/a.jpg"),
        Err(FetchError::UnsupportedScheme("ftp".into()))
    );
    assert_eq!(
        hop("http://img.example.com:6379/"),
        Err(FetchError::PortNotAllowed(6379))
    );
    assert!(matches!(
        hop("http://user@img.example.com/"),
        Err(FetchError::InvalidUrl(_))
    ));
    let any_host = strict();
    let hop = |u: &str| check_redirect(&any_host, &Url::parse(u).unwrap(), 1, 5);
    for target in [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
    ] {
        assert!(
            matches!(hop(target), Err(FetchError::PrivateAddress(_))),
            "{target}"
        );
    }
    assert_eq!(hop("http://8.8.8.8/"), Ok(()));
}

// ---------------------------------------------------------------- origin

/// What the test origin does with a request for a path.
enum Reply {
    /// A complete response with a Content-Length.
    Full {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// A Content-Length header claiming `claimed` bytes, then a few.
    Claims { claimed: u64 },
    /// A chunked body of `chunks` chunks of `size` bytes.
    Chunked { chunks: usize, size: usize },
    /// Headers at once, then one byte every `every`, forever.
    Drip { every: Duration },
    /// These bytes, without reading the request (for TLS clients).
    Raw(&'static [u8]),
    /// Reads the request and never answers.
    Silent,
}

fn ok(body: &[u8]) -> Reply {
    Reply::Full {
        status: 200,
        headers: vec![("Content-Type", "image/png".into())],
        body: body.to_vec(),
    }
}

fn status(code: u16) -> Reply {
    Reply::Full {
        status: code,
        headers: vec![],
        body: b"error page".to_vec(),
    }
}

fn redirect(location: String) -> Reply {
    Reply::Full {
        status: 302,
        headers: vec![("Location", location)],
        body: vec![],
    }
}

type Route = dyn Fn(&str, SocketAddr) -> Reply + Send + Sync;

/// A local origin that counts the connections it accepts.
struct Origin {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl Origin {
    async fn start(route: impl Fn(&str, SocketAddr) -> Reply + Send + Sync + 'static) -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        let route: Arc<Route> = Arc::new(route);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, Arc::clone(&route), addr));
            }
        });
        Origin { addr, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn serve(mut stream: TcpStream, route: Arc<Route>, addr: SocketAddr) {
    // TLS clients speak first and never send a blank line: answer at once.
    if let Reply::Raw(bytes) = route("", addr) {
        let _ = stream.write_all(bytes).await;
        let _ = stream.shutdown().await;
        return;
    }
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let _ = match route(&path, addr) {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str("\r\n");
            let mut bytes = out.into_bytes();
            bytes.extend_from_slice(&body);
            stream.write_all(&bytes).await
        }
        Reply::Claims { claimed } => {
            let out =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {claimed}\r\nConnection: close\r\n\r\nabcd");
            stream.write_all(out.as_bytes()).await
        }
        Reply::Chunked { chunks, size } => {
            let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
            let mut result = stream.write_all(head.as_bytes()).await;
            let chunk = format!("{size:x}\r\n{}\r\n", "x".repeat(size));
            for _ in 0..chunks {
                if result.is_err() {
                    break;
                }
                result = stream.write_all(chunk.as_bytes()).await;
            }
            if result.is_ok() {
                result = stream.write_all(b"0\r\n\r\n").await;
            }
            result
        }
        Reply::Drip { every } => {
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n";
            let mut result = stream.write_all(head.as_bytes()).await;
            while result.is_ok() {
                tokio::time::sleep(every).await;
                result = stream.write_all(b"x").await;
            }
            result
        }
        Reply::Silent => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        }
        Reply::Raw(_) => Ok(()),
    };
    let _ = stream.shutdown().await;
}

fn limits() -> FetchLimits {
    FetchLimits {
        max_bytes: 1000,
        connect_timeout: Duration::from_secs(2),
        download_timeout: Duration::from_secs(5),
        max_redirects: 3,
    }
}

fn fetcher(guard: Guard, limits: FetchLimits) -> Fetcher {
    Fetcher::new(guard, limits).unwrap()
}

async fn fetch_with(guard: Guard, limits: FetchLimits, raw: &str) -> Result<Bytes, FetchError> {
    let url = SourceUrl::parse(raw, &guard)?;
    fetcher(guard, limits).fetch(&url).await
}

// ---------------------------------------------------------------- downloads

#[tokio::test]
async fn guard_on_refuses_loopback_without_contacting_the_origin() {
    let origin = Origin::start(|_, _| ok(b"secret")).await;
    let port = origin.addr.port();
    // The origin's port is allowed, so only the address check stands in the way.
    let guard = Guard::new(&config(false, &[], &[port]));

    let err = fetch_with(guard.clone(), limits(), &origin.url("/a.png"))
        .await
        .unwrap_err();
    assert_eq!(err, FetchError::PrivateAddress("127.0.0.1 (loopback)".into()));

    // A name is refused when it resolves, before any connection is made.
    let by_name = format!("http://localhost:{port}/a.png");
    let url = SourceUrl::parse(&by_name, &guard).unwrap();
    let err = fetcher(guard.clone(), limits()).fetch(&url).await.unwrap_err();
    let FetchError::PrivateAddress(detail) = &err else {
        panic!("{err:?}");
    };
    assert!(
        detail.contains("loopback") && detail.contains("localhost"),
        "{detail}"
    );

    // A URL parsed under a looser policy is checked again by the fetcher.
    let loose = SourceUrl::parse(&origin.url("/a.png"), &open()).unwrap();
    let err = fetcher(guard, limits()).fetch(&loose).await.unwrap_err();
    assert!(matches!(err, FetchError::PrivateAddress(_)), "{err:?}");

    assert_eq!(origin.hits(), 0);
}

#[tokio::test]
async fn guard_off_fetches_the_bytes() {
    let origin = Origin::start(|_, _| ok(b"\x89PNG pixels")).await;
    let bytes = fetch_with(open(), limits(), &origin.url("/a.png")).await.unwrap();
    assert_eq!(&bytes[..], b"\x89PNG pixels");
    let by_name = format!("http://localhost:{}/a.png", origin.addr.port());
    let bytes = fetch_with(open(), limits(), &by_name).await.unwrap();
    assert_eq!(&bytes[..], b"\x89PNG pixels");
    assert_eq!(origin.hits(), 2);
}

#[tokio::test]
async fn a_body_exactly_at_the_limit_is_accepted() {
    let origin = Origin::start(|_, _| ok(&[7u8; 1000])).await;
    let bytes = fetch_with(open(), limits(), &origin.url("/")).await.unwrap();
    assert_eq!(bytes.len(), 1000);
}

#[tokio::test]
async fn content_length_over_the_limit_is_too_large_before_the_body() {
    let origin = Origin::start(|_, _| Reply::Claims {
        claimed: 10_000_000_000,
    })
    .await;
    let started = Instant::now();
    let err = fetch_with(open(), limits(), &origin.url("/")).await.unwrap_err();
    assert_eq!(err, FetchError::TooLarge { limit: 1000 });
    // The claimed body never arrives; only the header can have triggered this.
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_too_large() {
    let origin = Origin::start(|_, _| Reply::Chunked {
        chunks: 100,
        size: 100,
    })
    .await;
    let err = fetch_with(open(), limits(), &origin.url("/")).await.unwrap_err();
    assert_eq!(err, FetchError::TooLarge { limit: 1000 });
    // Under the limit, chunked bodies arrive whole.
    let origin = Origin::start(|_, _| Reply::Chunked { chunks: 5, size: 100 }).await;
    let bytes = fetch_with(open(), limits(), &origin.url("/")).await.unwrap();
    assert_eq!(bytes.len(), 500);
}

#[tokio::test]
async fn a_slow_drip_is_cut_off_at_the_deadline() {
    let origin = Origin::start(|_, _| Reply::Drip {
        every: Duration::from_millis(50),
    })
    .await;
    let limits = FetchLimits {
        max_bytes: 10_000_000,
        download_timeout: Duration::from_millis(600),
        ..limits()
    };
    let started = Instant::now();
    let err = fetch_with(open(), limits, &origin.url("/")).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, FetchError::Timeout(_)), "{err:?}");
    assert!(elapsed >= Duration::from_millis(550), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn an_origin_that_never_answers_is_cut_off_at_the_deadline() {
    let origin = Origin::start(|_, _| Reply::Silent).await;
    let limits = FetchLimits {
        download_timeout: Duration::from_millis(400),
        ..limits()
    };
    let started = Instant::now();
    let err = fetch_with(open(), limits, &origin.url("/")).await.unwrap_err();
    assert!(matches!(err, FetchError::Timeout(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// A listener whose accept queue is full: the kernel drops further SYNs, so a
/// connection attempt hangs in the handshake, as it does towards a blackholed
/// address. Returns the listener and the connections that fill its queue (both
/// must stay alive for the test).
fn blackhole() -> (tokio::net::TcpListener, Vec<std::net::TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let address = listener.local_addr().unwrap();
    let mut filling = Vec::new();
    // Never accepted: each completed handshake takes a place in the queue until
    // one attempt no longer completes.
    for _ in 0..16 {
        match std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)) {
            Ok(stream) => filling.push(stream),
            Err(_) => return (listener, filling),
        }
    }
    panic!("the accept queue of {address} never filled");
}

#[tokio::test]
async fn a_handshake_that_never_completes_is_cut_off_at_the_connect_timeout() {
    let (listener, _filling) = blackhole();
    let address = listener.local_addr().unwrap();
    let limits = FetchLimits {
        connect_timeout: Duration::from_millis(300),
        download_timeout: Duration::from_secs(5),
        ..limits()
    };
    let started = Instant::now();
    let err = fetch_with(open(), limits, &format!("http://{address}/a.jpg"))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    match &err {
        FetchError::Timeout(message) => assert!(message.contains("no connection"), "{message}"),
        other => panic!("expected a connect timeout, got {other:?}"),
    }
    // Cut off by the connect timeout, long before the download deadline.
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn statuses_map_to_errors() {
    let origin = Origin::start(|path, _| match path {
        "/gone" => status(410),
        "/missing" => status(404),
        "/broken" => status(500),
        "/busy" => status(503),
        "/forbidden" => status(403),
        "/no-location" => status(302),
        _ => status(200),
    })
    .await;
    let table = [
        ("/missing", FetchError::NotFound(404)),
        ("/gone", FetchError::NotFound(410)),
        ("/broken", FetchError::UpstreamStatus(500)),
        ("/busy", FetchError::UpstreamStatus(503)),
        ("/forbidden", FetchError::UpstreamStatus(403)),
        ("/no-location", FetchError::UpstreamStatus(302)),
    ];
    for (path, expected) in table {
        assert_eq!(
            fetch_with(open(), limits(), &origin.url(path)).await.unwrap_err(),
            expected,
            "{path}"
        );
    }
}

#[tokio::test]
async fn redirects_are_followed_up_to_the_limit() {
    let origin = Origin::start(|path, addr| match path {
        "/loop" => redirect("/loop".into()),
        "/a" => redirect(format!("http://{addr}/b")),
        "/b" => redirect("/c".into()),
        _ => ok(b"arrived"),
    })
    .await;
    let bytes = fetch_with(open(), limits(), &origin.url("/a")).await.unwrap();
    assert_eq!(&bytes[..], b"arrived");
    assert_eq!(origin.hits(), 3);

    let err = fetch_with(open(), limits(), &origin.url("/loop"))
        .await
        .unwrap_err();
    assert_eq!(err, FetchError::TooManyRedirects(3));
    // The original request and three redirects, no more.
    assert_eq!(origin.hits(), 3 + 4);

    let none = FetchLimits {
        max_redirects: 0,
        ..limits()
    };
    let err = fetch_with(open(), none, &origin.url("/b")).await.unwrap_err();
    assert_eq!(err, FetchError::TooManyRedirects(0));
}

#[tokio::test]
async fn a_redirect_to_a_host_outside_the_allowed_sources_is_not_followed() {
    let origin = Origin::start(|path, addr| match path {
        "/elsewhere" => redirect(format!("http://localhost:{}/secret", addr.port())),
        "/ftp" => redirect("ftp://127.0.0.1/secret".into()),
        _ => ok(b"secret"),
    })
    .await;
    // Private networks on (the origin is on loopback), but only 127.0.0.1 allowed.
    let guard = Guard::new(&config(true, &["127.0.0.1"], &[80, 443]));
    let err = fetch_with(guard.clone(), limits(), &origin.url("/elsewhere"))
        .await
        .unwrap_err();
    assert_eq!(err, FetchError::HostNotAllowed("localhost".into()));
    assert_eq!(origin.hits(), 1);
    let err = fetch_with(guard, limits(), &origin.url("/ftp"))
        .await
        .unwrap_err();
    assert_eq!(err, FetchError::UnsupportedScheme("ftp".into()));
    assert_eq!(origin.hits(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = fetch_with(open(), limits(), &format!("http://{addr}/a.png"))
        .await
        .unwrap_err();
    let FetchError::Unreachable(detail) = &err else {
        panic!("{err:?}");
    };
    assert!(detail.to_lowercase().contains("refused"), "{detail}");
}

#[tokio::test]
async fn an_unresolvable_name_is_unreachable() {
    let err = fetch_with(open(), limits(), "http://no-such-host.invalid/a.png")
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Unreachable(_)), "{err:?}");
}

#[tokio::test]
async fn a_broken_tls_handshake_is_a_tls_error() {
    let origin = Origin::start(|_, _| Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")).await;
    let url = format!("https://{}/a.png", origin.addr);
    let err = fetch_with(open(), limits(), &url).await.unwrap_err();
    assert!(matches!(err, FetchError::Tls(_)), "{err:?}");
}

#[tokio::test]
async fn the_user_agent_names_the_service() {
    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        if let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let n = stream.read(&mut buf).await.unwrap_or(0);
            *record.lock().unwrap() = String::from_utf8_lossy(&buf[..n]).to_lowercase();
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .await;
        }
    });
    fetch_with(open(), limits(), &format!("http://{addr}/"))
        .await
        .unwrap();
    let request = seen.lock().unwrap().clone();
    assert!(
        request.contains(&format!("user-agent: resizer/{}", env!("CARGO_PKG_VERSION"))),
        "{request}"
    );
    assert!(!request.contains("cookie"), "{request}");
}

// ---------------------------------------------------------------- error chains

#[test]
fn own_errors_are_found_inside_nested_io_errors() {
    let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, FetchError::PortNotAllowed(22));
    let outer = std::io::Error::other(inner);
    assert_eq!(
        find_in_chain::<FetchError>(&outer),
        Some(&FetchError::PortNotAllowed(22))
    );
    let plain = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    assert_eq!(find_in_chain::<FetchError>(&plain), None);
}

// ------------------------------------------------ what the messages say

#[tokio::test]
async fn a_body_shorter_than_its_content_length_closed_early() {
    // Regression: this was "the origin could not be reached", as if no
    // connection had ever been made.
    let origin = Origin::start(|_, _| Reply::Claims { claimed: 500 }).await;
    let err = fetch_with(open(), limits(), &origin.url("/")).await.unwrap_err();
    assert_eq!(
        err,
        FetchError::ClosedEarly {
            received: 4,
            expected: Some(500)
        }
    );
    let message = err.to_string();
    assert!(message.contains("closed the connection early"), "{message}");
    assert!(message.contains("4 bytes of 500"), "{message}");
}

#[tokio::test]
async fn timeouts_state_their_deadline_and_what_was_missing() {
    let origin = Origin::start(|_, _| Reply::Silent).await;
    let limits = FetchLimits {
        download_timeout: Duration::from_millis(400),
        ..limits()
    };
    let err = fetch_with(open(), limits, &origin.url("/")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the origin did not answer within 0.4 s",
        "{err:?}"
    );

    let origin = Origin::start(|_, _| Reply::Drip {
        every: Duration::from_millis(50),
    })
    .await;
    let limits = FetchLimits {
        max_bytes: 10_000_000,
        download_timeout: Duration::from_millis(500),
        ..limits
    };
    let err = fetch_with(open(), limits, &origin.url("/")).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, FetchError::Timeout(_)), "{err:?}");
    assert!(
        message.starts_with("the origin did not send the whole source within 0.5 s"),
        "{message}"
    );
}
