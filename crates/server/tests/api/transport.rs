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
    child.kill();
}

/// A certificate that cannot be read stops `serve` with a message naming it.
#[test]
fn an_unreadable_certificate_is_named() {
    let dir = tempfile::tempdir().expect("dir");
    let db = fyncall_testkit::server::demo_db(
        std::path::Path::new(env!("CARGO_BIN_EXE_fyncall-server")),
        dir.path(),
    );
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

/// A certificate authority's certificate given as the server's (what
/// `openssl req -x509` makes) stops `serve` at once with what to do, rather
/// than a server every client refuses with "CaUsedAsEndEntity".
#[test]
fn a_ca_certificate_as_the_server_s_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().expect("dir");
    let db = fyncall_testkit::server::demo_db(
        std::path::Path::new(env!("CARGO_BIN_EXE_fyncall-server")),
        dir.path(),
    );
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".into()]).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("cert");
    let (cert_path, key_path) = (dir.path().join("ca.crt"), dir.path().join("ca.key"));
    std::fs::write(&cert_path, cert.pem()).expect("write");
    std::fs::write(&key_path, key.serialize_pem()).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_fyncall-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--tls-cert")
        .arg(&cert_path)
        .arg("--tls-key")
        .arg(&key_path)
        .output()
        .expect("serve runs");
    assert!(!out.status.success(), "a CA's certificate was served");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ca.crt"), "{err}");
    assert!(err.contains("certificate authority"), "{err}");
    assert!(err.contains("docs/operations.md"), "{err}");
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

/// Runs `fyncall-server ARGS` with `FYNCALL_DATABASE_CA=ca`; for `serve`,
/// the child and its first line once it printed one.
fn server_with_ca(args: &[&str], ca: &std::path::Path) -> (std::process::Child, String) {
    server_process(args, Some(ca))
}

/// `fyncall-server ARGS`, with `FYNCALL_DATABASE_CA` set to `ca` or unset;
/// the child and its first line (empty when it exited first).
fn server_process(args: &[&str], ca: Option<&std::path::Path>) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut command = Command::new(env!("CARGO_BIN_EXE_fyncall-server"));
    command
        .args(args)
        .env_remove("FYNCALL_DATABASE_CA")
        .env("FYNCALL_ADMIN_PASSWORD", "a long admin password")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(ca) = ca {
        command.env("FYNCALL_DATABASE_CA", ca);
    }
    let mut child = command.spawn().expect("runs");
    let mut line = String::new();
    let _ = std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
    (child, line)
}

/// ASVS 9.2.2: the server reaches PostgreSQL over TLS (`sslmode=require`);
/// given `FYNCALL_DATABASE_CA` it checks the database's certificate, and a
/// CA that did not sign it is refused.
#[test]
fn postgres_over_tls_checks_the_certificate_it_is_given() {
    let ca = std::env::var("FYNCALL_TEST_POSTGRES_CA").unwrap_or_else(|_| {
        panic!("set FYNCALL_TEST_POSTGRES_CA to the test cluster's certificate (scripts/test does)")
    });
    let ca = std::path::PathBuf::from(ca);
    let url = format!("{}?sslmode=require", crate::common::postgres_database());
    let (mut init, _) = server_with_ca(
        &[
            "init",
            "--database-url",
            &url,
            "--admin-email",
            "ada@example.com",
            "--admin-name",
            "Ada",
        ],
        &ca,
    );
    assert!(init.wait().expect("init").success(), "init over TLS");

    let dir = tempfile::tempdir().expect("dir");
    let stranger = dir.path().join("stranger.pem");
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("cert");
    std::fs::write(&stranger, other.cert.pem()).expect("write");
    let (refused, _) = server_with_ca(
        &["serve", "--database-url", &url, "--listen", "127.0.0.1:0"],
        &stranger,
    );
    let out = refused.wait_with_output().expect("exits");
    assert!(
        !out.status.success(),
        "a CA that did not sign the database's certificate"
    );
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        err.contains("certificate") || err.contains("unknownissuer"),
        "{err}"
    );

    let (mut serving, line) = server_with_ca(
        &["serve", "--database-url", &url, "--listen", "127.0.0.1:0"],
        &ca,
    );
    assert!(line.starts_with("listening on "), "{line}");
    let admin = std::env::var("FYNCALL_TEST_POSTGRES").expect("cluster");
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("admin");
    let db = url
        .rsplit('/')
        .next()
        .and_then(|d| d.split('?').next())
        .expect("database name")
        .to_owned();
    let row = client
        .query_one(
            "SELECT count(*), bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1",
            &[&db],
        )
        .expect("pg_stat_ssl");
    let (connections, all_tls): (i64, Option<bool>) = (row.get(0), row.get(1));
    assert!(
        connections > 0,
        "the server holds connections to its database"
    );
    assert_eq!(all_tls, Some(true), "every one of them is TLS");
    let _ = serving.kill();
    let _ = serving.wait();
}

/// `fyncall-server` with `args`, `FYNCALL_DATABASE_CA` unset.
fn server_plain(args: &[&str]) -> (std::process::Child, String) {
    server_process(args, None)
}

/// Serves `url` until it says where it listens, then stops; its error otherwise.
fn serves(url: &str) -> Result<(), String> {
    let (mut child, line) =
        server_plain(&["serve", "--database-url", url, "--listen", "127.0.0.1:0"]);
    if line.starts_with("listening on ") {
        let _ = child.kill();
        let _ = child.wait();
        return Ok(());
    }
    let out = child.wait_with_output().expect("exits");
    Err(String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The test cluster's port and a new database's name in it.
fn cluster_database() -> (String, String) {
    let url = crate::common::postgres_database();
    let (base, db) = url.rsplit_once('/').expect("URL ends with /DATABASE");
    let port = base
        .rsplit_once(':')
        .expect("URL names a port")
        .1
        .to_owned();
    (port, db.to_owned())
}

/// Debian's local PostgreSQL is reached through a Unix-domain socket (peer
/// authentication): every form libpq takes for one connects, with or
/// without `sslmode=disable` (or `require`, which libpq ignores on a
/// socket), and never with TLS, which PostgreSQL does not offer there.
#[test]
fn postgres_over_a_unix_socket_in_every_form() {
    let socket = std::env::var("FYNCALL_TEST_POSTGRES_SOCKET").unwrap_or_else(|_| {
        panic!("set FYNCALL_TEST_POSTGRES_SOCKET to the test cluster's socket folder (scripts/test does)")
    });
    let (port, db) = cluster_database();
    let encoded = socket.replace('/', "%2F");
    let forms = [
        format!("postgres://fyncall@{encoded}:{port}/{db}"),
        format!("postgres://fyncall@{encoded}:{port}/{db}?sslmode=disable"),
        format!("postgresql://fyncall@{encoded}:{port}/{db}?sslmode=require"),
        format!("host={socket} port={port} user=fyncall dbname={db}"),
        format!("host={socket} port={port} user=fyncall dbname={db} sslmode=disable"),
        format!("postgresql:///{db}?host={socket}&port={port}&user=fyncall&sslmode=disable"),
    ];
    let (init, _) = server_plain(&[
        "init",
        "--database-url",
        &forms[0],
        "--admin-email",
        "ada@example.com",
        "--admin-name",
        "Ada",
    ]);
    let out = init.wait_with_output().expect("init");
    assert!(
        out.status.success(),
        "init over the socket: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for url in &forms {
        serves(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
}

/// `sslmode=verify-full` checks the database's certificate and the name it
/// was issued for (the test cluster's is for 127.0.0.1), `verify-ca` the
/// certificate only; both with the CA given in the URL (`sslrootcert`).
#[test]
fn postgres_verify_full_checks_the_name_and_verify_ca_the_ca() {
    let ca = std::env::var("FYNCALL_TEST_POSTGRES_CA").unwrap_or_else(|_| {
        panic!("set FYNCALL_TEST_POSTGRES_CA to the test cluster's certificate (scripts/test does)")
    });
    let (port, db) = cluster_database();
    let at = |host: &str, mode: &str| {
        format!("postgres://fyncall@{host}:{port}/{db}?sslmode={mode}&sslrootcert={ca}")
    };
    let (init, _) = server_plain(&[
        "init",
        "--database-url",
        &at("127.0.0.1", "verify-full"),
        "--admin-email",
        "ada@example.com",
        "--admin-name",
        "Ada",
    ]);
    let out = init.wait_with_output().expect("init");
    assert!(
        out.status.success(),
        "init with verify-full: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serves(&at("127.0.0.1", "verify-full")).expect("verify-full, the certificate's own name");
    // "localhost" reaches the same database, under a name the certificate lacks.
    let err = serves(&at("localhost", "verify-full")).expect_err("verify-full, another name");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    serves(&at("localhost", "verify-ca")).expect("verify-ca ignores the name");
    // A CA that did not sign it: refused whatever the mode.
    let dir = tempfile::tempdir().expect("dir");
    let stranger = dir.path().join("stranger.pem");
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("cert");
    std::fs::write(&stranger, other.cert.pem()).expect("write");
    let url = format!(
        "postgres://fyncall@127.0.0.1:{port}/{db}?sslmode=verify-ca&sslrootcert={}",
        stranger.display()
    );
    let err = serves(&url).expect_err("another CA");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}
