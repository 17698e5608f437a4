//! The command line of the README's "Command line" section: convert, sign,
//! --help and start-up checks.

use std::process::Command;

use crate::support::*;

fn resizer() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_resizer"));
    // Only this test's settings: none inherited from the environment.
    for (key, _) in std::env::vars() {
        if key.starts_with("RESIZER_") {
            command.env_remove(key);
        }
    }
    command
}

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
        resizer::convert::sign(key.as_bytes(), path).unwrap()
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
