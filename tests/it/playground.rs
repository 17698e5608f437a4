//! The playground without a browser: the page and every asset it names are
//! served with their types, cache and security headers; the samples go
//! through the mount routes; the setting and signing switch it as documented.

use crate::support::*;

/// Every same-origin reference in a text: `src="/..."`, `href="/..."` and
/// the quoted `/playground/...` paths the script fetches.
fn references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for marker in ["src=\"", "href=\"", "\"/playground/"] {
        let mut rest = text;
        while let Some(at) = rest.find(marker) {
            // After the attribute's quote, or at the `/` of a quoted path.
            let start = if marker.starts_with("\"/") {
                at + 1
            } else {
                at + marker.len()
            };
            let tail = &rest[start..];
            let end = tail.find('"').unwrap();
            found.push(tail[..end].to_owned());
            rest = &tail[end..];
        }
    }
    found
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_with_strict_headers() {
    let server = Server::start(config()).await;
    let page = server.get("/playground").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let etag = page.headers()["etag"].clone();
    let html = page.text().await.unwrap();
    // Nothing inline for the CSP to block, nothing from elsewhere.
    assert!(
        !html.contains("<style") && !html.contains("style=\""),
        "inline style"
    );
    assert!(
        !html.contains("<script>") && !html.contains("onclick"),
        "inline script"
    );
    let again = server
        .client
        .get(server.url("/playground"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let mut checked = 0;
    let mut pending = references(&html);
    let mut seen = std::collections::HashSet::new();
    while let Some(reference) = pending.pop() {
        // The empty icon (`data:,`), which spares the browser a request.
        if !seen.insert(reference.clone()) || reference == "data:," {
            continue;
        }
        assert!(reference.starts_with('/'), "{reference} is not on this origin");
        let response = server.get(&reference).await;
        assert_eq!(response.status(), 200, "{reference}");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        let body = response.text().await.unwrap();
        match reference.rsplit('.').next() {
            Some("css") => assert!(content_type.starts_with("text/css"), "{content_type}"),
            Some("js") => {
                assert!(content_type.starts_with("text/javascript"), "{content_type}");
                assert!(
                    !body.contains("http://") && !body.contains("https://"),
                    "external URL in {reference}"
                );
                pending.extend(references(&body));
            }
            Some("json") => {
                let settings: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(settings["signed"], false);
                for sample in settings["samples"].as_array().unwrap() {
                    pending.push(format!("/{}", sample.as_str().unwrap()));
                    pending.push(format!("/w_1,h_1,f_webp/{}", sample.as_str().unwrap()));
                }
            }
            _ => {}
        }
        checked += 1;
    }
    // The stylesheet, the script, the settings, two samples and their probes.
    assert!(checked >= 7, "{seen:?}");
    assert!(seen.contains("/playground/samples/coffee.jpg"), "{seen:?}");
}

#[tokio::test]
async fn samples_are_transformed_like_mount_objects() {
    let server = Server::start(config()).await;
    let response = server.get("/w_100,f_png/playground/samples/badge.png").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("server-timing"));
    let image = decode(&response.bytes().await.unwrap());
    assert_eq!((image.format, image.width, image.height), ("png", 100, 100));
    assert_eq!(image.pixel(0, 0)[3], 0, "the corner stays transparent");
    let coffee = decode(
        &server
            .get("/w_300,h_100,c_fill/playground/samples/coffee.jpg")
            .await
            .bytes()
            .await
            .unwrap(),
    );
    assert_eq!((coffee.format, coffee.width, coffee.height), ("jpeg", 300, 100));
    assert_error(
        server.get("/w_10/playground/samples/none.jpg").await,
        404,
        "source_not_found",
    )
    .await;
    assert_error(
        server.get("/w_10/playground/samples/..%2Fx").await,
        400,
        "invalid_key",
    )
    .await;
}

#[tokio::test]
async fn the_landing_page_links_to_the_playground() {
    let server = Server::start(config()).await;
    let html = server
        .client
        .get(server.url("/"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(html.headers()["content-type"], "text/html; charset=utf-8");
    assert!(html.text().await.unwrap().contains("href=\"/playground\""));
    let text = server.get("/").await.text().await.unwrap();
    assert!(text.contains("/playground"), "{text}");
}

#[tokio::test]
async fn off_is_404_and_signing_turns_it_off_by_default() {
    let mut off = config();
    off.playground = false;
    let server = Server::start(off).await;
    for path in [
        "/playground",
        "/playground/playground.js",
        "/playground/settings.json",
        "/w_10/playground/samples/coffee.jpg",
    ] {
        assert_eq!(server.get(path).await.status(), 404, "{path}");
    }
    let text = server.get("/").await.text().await.unwrap();
    assert!(!text.contains("/playground"), "{text}");

    // Through the settings: a signing key turns the default off.
    let mut settings = resizer::config::Settings::defaults();
    settings.signing_key = Some("0123456789abcdef-playground".into());
    let signed = settings.validate().unwrap();
    assert!(!signed.playground);
    let server = Server::start(signed.clone()).await;
    assert_eq!(server.get("/playground").await.status(), 404);

    // On with signing: the page says so, and samples need signatures.
    let mut on = signed;
    on.playground = true;
    let server = Server::start(on).await;
    assert_eq!(server.get("/playground").await.status(), 200);
    let settings = server
        .get("/playground/settings.json")
        .await
        .bytes()
        .await
        .unwrap();
    let settings: serde_json::Value = serde_json::from_slice(&settings).unwrap();
    assert_eq!(settings["signed"], true);
    assert!(!settings.to_string().contains("0123456789abcdef"), "{settings}");
    assert_error(
        server.get("/w_10/playground/samples/coffee.jpg").await,
        403,
        "signature_missing",
    )
    .await;
    let key = b"0123456789abcdef-playground";
    let signature = resizer::signing::sign_path(key, "w_10/playground/samples/coffee.jpg");
    let response = server
        .get(&format!("/w_10/playground/samples/coffee.jpg?s={signature}"))
        .await;
    assert_eq!(response.status(), 200);
}
