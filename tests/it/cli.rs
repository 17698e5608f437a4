//! The command line of the README's "Command line" section: convert, sign,
//! --help and start-up checks.

use std::process::Command;

use crate::support::*;

#[test]
fn convert_runs_the_pipeline_on_a_file() {
    let dir = std::env::temp_dir().join(format!("resizer-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("four.png");
    std::fs::write(&input, encode_png(200, 100, false, &quadrants(200, 100))).unwrap();
    let output = dir.join("out.webp");
    let status = resizer()
        .args([
            "convert",
            input.to_str().unwrap(),
            "w_100,c_fill,h_100,g_east",
            output.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let image = decode(&std::fs::read(&output).unwrap());
    assert_eq!((image.format, image.width, image.height), ("webp", 100, 100));
    image.assert_colour(10, 10, GREEN, 40);

    // `-` writes to stdout, in the source's format unless f_ says.
    let out = resizer()
        .args(["convert", input.to_str().unwrap(), "w_20", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(decode(&out.stdout).format, "png");

    // A bad token fails with its message.
    let out = resizer()
        .args(["convert", input.to_str().unwrap(), "w_zero", "-"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("w_zero"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn convert_applies_the_guard_to_urls() {
    let out = resizer()
        .args(["convert", "http://127.0.0.1:9/a.jpg", "w_20", "-"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not public"), "{stderr}");
}

#[test]
fn sign_prints_a_path_the_server_accepts() {
    let key = "0123456789abcdef0123";
    let path = "/w_150,h_500?url=https://example.com/a.jpg";
    let out = resizer().args(["sign", "--key", key, path]).output().unwrap();
    assert!(out.status.success());
    let signed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        signed.trim(),
        resizer::convert::sign(key.as_bytes(), path, &Default::default()).unwrap()
    );
    let signature = signed.trim().rsplit_once("&s=").unwrap().1;
    let verifier = resizer::signing::Verifier::new(vec![key.as_bytes().to_vec()]);
    assert!(
        verifier
            .verify("w_150,h_500", "https://example.com/a.jpg", Some(signature))
            .is_ok()
    );
}

#[test]
fn help_lists_every_setting_with_its_env_twin() {
    let out = resizer().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for setting in [
        "bind",
        "max-src-bytes",
        "max-src-pixels",
        "max-dimension",
        "max-animation-frames",
        "max-animation-pixels",
        "download-timeout",
        "max-redirects",
        "max-url-length",
        "max-tokens",
        "allowed-sources",
        "allow-private-networks",
        "signing-key",
        "concurrency",
        "max-queue",
        "max-queue-wait",
        "cache-bytes",
        "cache-ttl",
    ] {
        assert!(help.contains(&format!("--{setting}")), "--{setting} missing");
        let env = format!("RESIZER_{}", setting.replace('-', "_").to_uppercase());
        assert!(help.contains(&env), "{env} missing");
    }
    assert!(help.contains("[default: 30MB]"));
}

#[test]
fn a_bad_setting_stops_start_up_with_its_name() {
    let out = resizer().env("RESIZER_MAX_SRC_BYTES", "lots").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("RESIZER_MAX_SRC_BYTES"), "{stderr}");
}

/// A scratch directory of this test's own, removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("resizer-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, file: &str) -> String {
        self.0.join(file).to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run_with_stdin(command: &mut Command, stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Written from a thread, so a child that stops reading cannot block us.
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

#[test]
fn f_auto_into_a_jpg_file_writes_jpeg() {
    // Regression: `f_auto` negotiated as for a browser that accepts AVIF,
    // and wrote AVIF bytes into x.jpg.
    let scratch = Scratch::new("auto");
    let photo = scratch.path("photo.jpg");
    std::fs::write(&photo, encode_jpeg(200, 100, &quadrants(200, 100))).unwrap();
    let output = scratch.path("x.jpg");
    let out = resizer()
        .args(["convert", &photo, "w_100,f_auto", &output])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let image = decode(&std::fs::read(&output).unwrap());
    assert_eq!((image.format, image.width), ("jpeg", 100));

    // On stdout, as the server answers a client without Accept: JPEG for an
    // opaque image, PNG for one with alpha.
    let out = resizer()
        .args(["convert", &photo, "w_20,f_auto", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(decode(&out.stdout).format, "jpeg");
    let alpha = scratch.path("alpha.png");
    let rgba: Vec<u8> = quadrants(20, 20)
        .chunks(3)
        .flat_map(|p| [p[0], p[1], p[2], 128])
        .collect();
    std::fs::write(&alpha, encode_png(20, 20, true, &rgba)).unwrap();
    let out = resizer()
        .args(["convert", &alpha, "f_auto", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(decode(&out.stdout).format, "png");
}

#[test]
fn an_explicit_format_contradicting_the_extension_is_an_error() {
    let scratch = Scratch::new("contradiction");
    let photo = scratch.path("photo.jpg");
    std::fs::write(&photo, encode_jpeg(40, 20, &quadrants(40, 20))).unwrap();
    let output = scratch.path("x.jpg");
    let out = resizer()
        .args(["convert", &photo, "w_10,f_png", &output])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("f_png") && stderr.contains("x.jpg"), "{stderr}");
    assert!(!std::path::Path::new(&output).exists(), "nothing is written");
    // Agreeing spellings are fine.
    let out = resizer()
        .args(["convert", &photo, "w_10,f_jpeg", &output])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(decode(&std::fs::read(&output).unwrap()).format, "jpeg");
}

#[test]
fn convert_ignores_settings_only_the_server_reads() {
    let scratch = Scratch::new("server-only");
    let input = scratch.path("four.png");
    std::fs::write(&input, encode_png(40, 20, false, &quadrants(40, 20))).unwrap();
    let out = resizer()
        .env("RESIZER_BIND", "not an address")
        .env("RESIZER_METRICS", "sometimes")
        .env("RESIZER_CACHE_BYTES", "lots")
        .args(["convert", &input, "w_10", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(decode(&out.stdout).width, 10);
    // Settings convert uses are still checked.
    let out = resizer()
        .env("RESIZER_MAX_SRC_BYTES", "lots")
        .args(["convert", &input, "w_10", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // And the server still refuses its own bad settings at start.
    let out = resizer().env("RESIZER_BIND", "not an address").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RESIZER_BIND"));
}

#[test]
fn convert_help_documents_input_and_output() {
    let out = resizer().args(["convert", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let arguments = help.split("Arguments:").nth(1).expect("an Arguments section");
    let line = |name: &str| {
        arguments
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing in {help}"))
            .to_owned()
    };
    assert!(line("<INPUT>").contains("stdin"), "{help}");
    assert!(line("<OUTPUT>").contains("stdout"), "{help}");
}

#[test]
fn convert_reads_stdin_within_the_source_limit() {
    let png = encode_png(40, 20, false, &quadrants(40, 20));
    let out = run_with_stdin(resizer().args(["convert", "-", "w_10", "-"]), &png);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let image = decode(&out.stdout);
    assert_eq!((image.format, image.width, image.height), ("png", 10, 5));

    let limit = png.len() - 1;
    let out = run_with_stdin(
        resizer()
            .env("RESIZER_MAX_SRC_BYTES", limit.to_string())
            .args(["convert", "-", "w_10", "-"]),
        &png,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("limit of {limit} bytes")), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn convert_says_unsupported_scheme_for_other_urls() {
    for input in ["ftp://example.com/a.jpg", "file:///etc/hostname"] {
        let out = resizer().args(["convert", input, "w_20", "-"]).output().unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("unsupported scheme"), "{input}: {stderr}");
    }
}

#[test]
fn sign_refuses_what_the_server_would_refuse() {
    let path = "/w_150?url=https://example.com/a.jpg";
    // A key the server refuses in RESIZER_SIGNING_KEY.
    let out = resizer().args(["sign", "--key", "short", path]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 16"), "{stderr}");
    assert!(out.stdout.is_empty());
    // A transformation the server answers with 400.
    let key = "0123456789abcdef0123";
    let out = resizer()
        .args(["sign", "--key", key, "/w_150,z_3?url=https://example.com/a.jpg"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("z_3"));
    // Over this deployment's limits, not only the defaults.
    let out = resizer()
        .env("RESIZER_MAX_DIMENSION", "100")
        .args(["sign", "--key", key, path])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("w_150"));
}

#[test]
fn sign_replaces_an_existing_signature() {
    let key = "0123456789abcdef0123";
    let sign = |path: &str| {
        let out = resizer().args(["sign", "--key", key, path]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let once = sign("/w_150?url=https://example.com/a.jpg");
    let again = sign(&once);
    assert_eq!(again, once);
    assert_eq!(again.matches("&s=").count(), 1, "{again}");
    let signature = again.rsplit_once("&s=").unwrap().1;
    let verifier = resizer::signing::Verifier::new(vec![key.as_bytes().to_vec()]);
    assert!(
        verifier
            .verify("w_150", "https://example.com/a.jpg", Some(signature))
            .is_ok()
    );
}
