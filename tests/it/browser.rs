//! The playground in a real browser: Chromium, headless, driven over the
//! W3C WebDriver protocol by `chromedriver` (Debian's `chromium` and
//! `chromium-driver`). The few commands needed (session, navigate, find,
//! type, click, run a script, screenshot) are plain JSON over HTTP, sent
//! with the HTTP client the tests already use.
//!
//! Without Chromium or its driver the test says so loudly and passes,
//! unless `RESIZER_BROWSER_TESTS=require` (as in CI), where it fails naming
//! the packages to install.

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

/// The key W3C WebDriver names element references with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long the page may take to show a result.
const PATIENCE: Duration = Duration::from_secs(60);

fn find_program(names: &[&str]) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// A chromedriver process of this test, killed when dropped.
struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
    session: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start(driver: &std::path::Path, browser: &std::path::Path) -> Driver {
        let port = StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let mut driver = Driver {
            child,
            base,
            http,
            session: String::new(),
        };
        let started = Instant::now();
        loop {
            if let Ok(response) = driver.http.get(format!("{}/status", driver.base)).send().await
                && response.status().is_success()
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": browser.to_string_lossy(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1100", "--no-proxy-server"]
            }
        }}});
        let session = driver.send("POST", "/session", capabilities).await;
        driver.session = session["sessionId"].as_str().expect("a session id").to_owned();
        driver
    }

    async fn send(&self, method: &str, path: &str, body: Value) -> Value {
        let url = if path == "/session" {
            format!("{}/session", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self
                .http
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_string()),
        };
        let response = request.send().await.expect("chromedriver answers");
        let status = response.status();
        let bytes = response.bytes().await.expect("chromedriver answers");
        let answer: Value = serde_json::from_slice(&bytes).expect("chromedriver answers JSON");
        assert!(status.is_success(), "WebDriver {method} {path}: {answer}");
        answer["value"].clone()
    }

    async fn script(&self, script: &str) -> Value {
        self.send("POST", "/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .send("POST", "/element", json!({"using": "css selector", "value": css}))
            .await;
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    async fn clear(&self, css: &str) -> String {
        let element = self.element(css).await;
        self.send("POST", &format!("/element/{element}/clear"), json!({}))
            .await;
        element
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.clear(css).await;
        self.send(
            "POST",
            &format!("/element/{element}/value"),
            json!({"text": text}),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let element = self.element(css).await;
        self.send("POST", &format!("/element/{element}/click"), json!({}))
            .await;
    }

    /// Waits until the page shows a finished result whose URL holds `expected`.
    async fn wait_for_result(&self, expected: &str) -> Value {
        let started = Instant::now();
        loop {
            let state = self
                .script(
                    "return {state: document.body.dataset.state || '', url: document.getElementById('url').value, \
                     status: document.getElementById('status').textContent, \
                     errors: [...document.querySelectorAll('.error:not([hidden])')].map(e => e.textContent)};",
                )
                .await;
            if state["state"] == "ready" && state["url"].as_str().unwrap_or_default().contains(expected) {
                return state;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the playground showed no result for `{expected}`: {state}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test]
async fn the_playground_resizes_a_sample_in_chromium() {
    let required = std::env::var("RESIZER_BROWSER_TESTS").is_ok_and(|v| v == "require");
    let browser = find_program(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = find_program(&["chromedriver", "chromium-driver"]);
    let (Some(browser), Some(driver)) = (browser, driver) else {
        let message = "Chromium or chromedriver not found on PATH: the browser test of the \
                       playground did NOT run. Install them (Debian: apt-get install chromium \
                       chromium-driver).";
        assert!(!required, "RESIZER_BROWSER_TESTS=require: {message}");
        eprintln!("\n!!!!!!!!!!\n!!! SKIPPED: {message}\n!!!!!!!!!!\n");
        return;
    };
    let server = Server::start(config()).await;
    let origin = Origin::start().await;
    origin.add(
        "four.png",
        "image/png",
        encode_png(400, 200, false, &quadrants(400, 200)),
    );
    let driver = Driver::start(&driver, &browser).await;
    driver
        .send("POST", "/url", json!({"url": server.url("/playground")}))
        .await;
    // It opens on a sample already transformed.
    let opened = driver.wait_for_result("/playground/samples/coffee.jpg").await;
    assert!(opened["errors"].as_array().unwrap().is_empty(), "{opened}");

    // A size and a format, through the controls.
    driver.type_into("#w", "240").await;
    driver.type_into("#h", "160").await;
    driver.click("#f option[value=png]").await;
    let expected_path = "/w_240,h_160,c_fill,g_auto,f_png/playground/samples/coffee.jpg";
    let shown = driver.wait_for_result(expected_path).await;
    assert_eq!(shown["url"], server.url(expected_path), "{shown}");
    assert!(shown["errors"].as_array().unwrap().is_empty(), "{shown}");
    let result = driver
        .script(
            "const img = document.getElementById('result'); \
             const field = (p, f) => document.querySelector('#' + p + ' [data-field=' + f + ']').textContent; \
             return {width: img.naturalWidth, height: img.naturalHeight, \
                     transformation: document.getElementById('transformation').value, \
                     format: field('result-info', 'format'), bytes: field('result-info', 'bytes'), \
                     original: field('original-info', 'dimensions'), \
                     stages: [...document.querySelectorAll('#timings li')].map(li => li.textContent)};",
        )
        .await;
    assert_eq!(
        (result["width"].as_u64(), result["height"].as_u64()),
        (Some(240), Some(160)),
        "{result}"
    );
    assert_eq!(result["format"], "png", "{result}");
    assert_eq!(
        result["transformation"], "w_240,h_160,c_fill,g_auto,f_png",
        "{result}"
    );
    assert!(
        result["original"].as_str().unwrap().starts_with("600 × 400"),
        "{result}"
    );
    let stages: Vec<&str> = result["stages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        stages
            .iter()
            .any(|s| s.starts_with("decode ") && (s.ends_with(" ms") || s.ends_with(" ms (cached)"))),
        "{result}"
    );
    assert!(stages.iter().any(|s| s.starts_with("cache")), "{result}");
    // The image the page shows is the one its URL serves.
    let served = decode(&server.get(expected_path).await.bytes().await.unwrap());
    assert_eq!((served.format, served.width, served.height), ("png", 240, 160));

    // A typed transformation moves the controls.
    driver
        .type_into("#transformation", "w_120,c_pad,b_rgb:ff0000,e_grayscale,f_webp")
        .await;
    driver
        .wait_for_result("/w_120,c_pad,f_webp,b_rgb:ff0000,e_grayscale/")
        .await;
    let controls = driver
        .script(
            "return {w: document.getElementById('w').value, h: document.getElementById('h').value, \
                     c: document.getElementById('c').value, b: document.getElementById('b').value, \
                     grey: document.getElementById('e_grayscale').checked};",
        )
        .await;
    assert_eq!(
        controls,
        json!({"w": "120", "h": "", "c": "pad", "b": "#ff0000", "grey": true})
    );

    // A bad value shows the service's message beside the control.
    driver.type_into("#w", "99999").await;
    let started = Instant::now();
    loop {
        let error = driver
            .script("const e = document.getElementById('error-w'); return e.hidden ? '' : e.textContent;")
            .await;
        if error
            .as_str()
            .is_some_and(|e| e.contains("400") && e.contains("w_99999"))
        {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "no error beside the width: {error}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A source from a local origin, pasted.
    driver.type_into("#w", "100").await;
    driver
        .type_into("#source-url", &origin.url("/img/four.png"))
        .await;
    driver.wait_for_result("?url=").await;
    let size = driver
        .script(
            "const img = document.getElementById('result'); return [img.naturalWidth, img.naturalHeight];",
        )
        .await;
    assert_eq!(size, json!([100, 50]));

    // Back to the sample for the screenshot, a size not asked before so
    // that the timings are a miss's.
    driver.clear("#source-url").await;
    driver
        .type_into("#transformation", "w_480,h_320,c_fill,g_auto,f_auto")
        .await;
    driver
        .wait_for_result("/w_480,h_320,c_fill,g_auto,f_auto/playground/samples/coffee.jpg")
        .await;
    driver
        .script("document.activeElement.blur(); window.scrollTo(0, 0); return null;")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // No script error all along: only the refused requests the test asked
    // for (the 400 of `w_99999`) may be in the console.
    let log = driver.send("POST", "/se/log", json!({"type": "browser"})).await;
    let errors: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .filter(|entry| {
            let message = entry["message"].as_str().unwrap_or_default();
            !(message.contains("Failed to load resource") && message.contains("400"))
        })
        .collect();
    assert!(errors.is_empty(), "errors in the browser console: {errors:?}");
    let screenshot = driver.send("GET", "/screenshot", json!({})).await;
    let png = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        screenshot.as_str().unwrap(),
    )
    .unwrap();
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("playground.png"), &png).unwrap();
    driver.send("DELETE", "", json!({})).await;
}
