//! Origins that misbehave at the HTTP level, and what a user is told
//! (README, "Errors"): each error names what went wrong and, for a timeout,
//! the deadline that passed.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::*;

/// What the raw origin does after reading a request.
#[derive(Clone, Copy)]
enum Misbehaviour {
    /// Promises 1000 bytes, sends 10, closes the connection.
    ShortBody,
    /// Never answers (keeps the connection open for a minute).
    Silent,
}

/// An origin on 127.0.0.1 written at the socket level, since no well-behaved
/// HTTP server can be made to break its own framing.
async fn misbehaving_origin(misbehaviour: Misbehaviour) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                match misbehaviour {
                    Misbehaviour::ShortBody => {
                        let head =
                            "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n";
                        let _ = stream.write_all(head.as_bytes()).await;
                        let _ = stream.write_all(&[0x89; 10]).await;
                        let _ = stream.shutdown().await;
                    }
                    Misbehaviour::Silent => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_502_closed_early() {
    // Regression: this was 502 upstream_unreachable, "the origin could not
    // be reached", though it had answered.
    let server = Server::start(config()).await;
    let origin = misbehaving_origin(Misbehaviour::ShortBody).await;
    let message = assert_error(
        server.get(&format!("/w_10?url=http://{origin}/a.png")).await,
        502,
        "upstream_closed_early",
    )
    .await;
    assert!(
        message.contains("the origin closed the connection early"),
        "{message}"
    );
    assert!(message.contains("10 bytes of 1000"), "{message}");
}

#[tokio::test]
async fn a_silent_origin_is_504_naming_the_deadline() {
    let mut config = config();
    config.download_timeout = Duration::from_secs(1);
    let server = Server::start(config).await;
    let origin = misbehaving_origin(Misbehaviour::Silent).await;
    let message = assert_error(
        server.get(&format!("/w_10?url=http://{origin}/a.png")).await,
        504,
        "upstream_timeout",
    )
    .await;
    assert_eq!(message, "the origin did not answer within 1 s");
}
