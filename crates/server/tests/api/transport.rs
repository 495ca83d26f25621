//! Transport (ASVS V9, V11): HTTPS served by the server itself with rustls,
//! and connections that go silent are closed.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::AsyncReadExt;

use crate::common::{Kind, Place, Team, serve};

/// A self-signed certificate for 127.0.0.1 and localhost, as PEM files.
fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("certificate");
    let cert_pem = cert.cert.pem();
    let cert_path = dir.join("server.crt");
    let key_path = dir.join("server.key");
    std::fs::write(&cert_path, &cert_pem).expect("write cert");
    let mut key = std::fs::File::create(&key_path).expect("key file");
    key.write_all(cert.signing_key.serialize_pem().as_bytes())
        .expect("write key");
    (cert_path, key_path, cert_pem)
}

/// ASVS 9.1.1, 9.2.1: `serve --tls-cert/--tls-key` speaks HTTPS; a client
/// that trusts the certificate gets answers, one that does not is refused
/// in the handshake, and plain HTTP to the TLS port gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_serves_https_with_its_own_certificate() {
    let place = Place::new(Kind::Sqlite).await;
    let dir = tempfile::tempdir().expect("dir");
    let (cert, key, cert_pem) = self_signed(dir.path());
    let db = place.args();
    let status = Command::new(env!("CARGO_BIN_EXE_fyncall-server"))
        .args(["init"])
        .args(&db)
        .args(["--admin-email", "ada@example.com", "--admin-name", "Ada"])
        .env("FYNCALL_ADMIN_PASSWORD", "a long admin password")
        .stdout(Stdio::null())
        .status()
        .expect("init runs");
    assert!(status.success());
    let mut args = db.clone();
    args.extend([
        "--tls-cert".into(),
        cert.display().to_string(),
        "--tls-key".into(),
        key.display().to_string(),
    ]);
    let (mut child, url) = serve(&args);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("pem"))
        .build()
        .expect("client");
    let res = trusting
        .post(format!("{url}/auth/login"))
        .json(&serde_json::json!({"email": "ada@example.com", "password": "a long admin password"}))
        .send()
        .await
        .expect("HTTPS answers");
    assert_eq!(res.status(), StatusCode::OK);

    let stranger = reqwest::Client::new();
    let err = stranger
        .get(format!("{url}/openapi.json"))
        .send()
        .await
        .expect_err("an unknown certificate is refused");
    assert!(err.is_connect(), "{err:?}");

    let plain = url.replacen("https://", "http://", 1);
    assert!(
        reqwest::Client::new()
            .get(format!("{plain}/openapi.json"))
            .send()
            .await
            .is_err(),
        "plain HTTP to the TLS port gets no answer"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// A certificate that cannot be read stops `serve` with a message naming it.
#[test]
fn an_unreadable_certificate_is_named() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("team.db");
    let out = Command::new(env!("CARGO_BIN_EXE_fyncall-server"))
        .args(["demo", "--db"])
        .arg(&db)
        .output()
        .expect("demo runs");
    assert!(out.status.success());
    let missing = dir.path().join("missing.crt");
    let out = Command::new(env!("CARGO_BIN_EXE_fyncall-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--tls-cert")
        .arg(&missing)
        .arg("--tls-key")
        .arg(&missing)
        .output()
        .expect("serve runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing.crt"), "{err}");
}

/// ASVS 11.1.4: a connection that sends nothing is closed after the idle
/// timeout (1 s here) instead of holding a socket forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed() {
    let config = fyncall_server::Config {
        idle_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let team = Team::with_config(Kind::Sqlite, config).await;
    let addr = team
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/api/v1")
        .to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connects");
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buf))
        .await
        .expect("the server closed the silent connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}
