//! Signing in on a real network (ASVS V9 communications, V3 sessions): the
//! CLI trusts the OS certificate store plus a CA it is given, refuses plain
//! HTTP to another machine before connecting, and manages the agent's
//! password and sessions.

use std::process::Command;

use crate::common::{ALICE, PASSWORD, Server, demo_db, expect, expect_output, fyncall};

/// A self-signed certificate for 127.0.0.1; (cert file, key file).
fn certificate(dir: &std::path::Path) -> (String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("certificate");
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    std::fs::write(&cert, made.cert.pem()).expect("cert");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("key");
    (cert.display().to_string(), key.display().to_string())
}

#[test]
fn https_with_a_team_certificate_needs_its_ca() {
    let dir = tempfile::tempdir().expect("dir");
    let db = demo_db(dir.path());
    let (cert, key) = certificate(dir.path());
    let server = Server::start_with(
        &db,
        "127.0.0.1",
        0,
        &["--tls-cert", &cert, "--tls-key", &key],
    );
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let home = dir.path().join("home");

    let out = fyncall(&home, &["login", "--server", &server.url, "--email", ALICE]);
    assert_eq!(out.status.code(), Some(3), "unreachable, not signed in");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("certificate") && err.contains("--ca"), "{err}");

    expect(
        &home,
        &[
            "login",
            "--server",
            &server.url,
            "--email",
            ALICE,
            "--ca",
            &cert,
        ],
        0,
    );
    // The saved sign-in keeps trusting the CA.
    let synced = expect(&home, &["sync"], 0);
    assert!(!synced.is_empty());
    let info = expect(&home, &["info"], 0);
    assert!(info.contains("online"), "{info}");
}

/// A TLS server (here `openssl s_server`) whose certificate is a CA's, the
/// CA trusted: the handshake fails with webpki's "CaUsedAsEndEntity", which
/// the CLI turns into what to do.
#[test]
fn a_ca_certificate_served_as_the_server_s_is_explained() {
    let dir = tempfile::tempdir().expect("dir");
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".into()]).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().expect("key");
    let made = params.self_signed(&key).expect("cert");
    let (cert, key_file) = (dir.path().join("ca.crt"), dir.path().join("ca.key"));
    std::fs::write(&cert, made.pem()).expect("cert");
    std::fs::write(&key_file, key.serialize_pem()).expect("key");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut tls = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key_file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server (scripts/setup installs openssl)");
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "openssl s_server did not listen"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let home = dir.path().join("home");
    let url = format!("https://127.0.0.1:{port}");
    let cert = cert.display().to_string();
    let out = fyncall(
        &home,
        &["login", "--server", &url, "--email", ALICE, "--ca", &cert],
    );
    let _ = tls.kill();
    let _ = tls.wait();
    assert_eq!(out.status.code(), Some(3), "unreachable, not signed in");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("certificate authority's certificate as its own")
            && err.contains("server certificate signed by that CA"),
        "{err}"
    );
}

/// The CLI keeps the device token a sign-in gives it (a 0600 file that
/// outlives signing out) and sends it with the next sign-in: guesses from
/// elsewhere that lock the account leave this computer's `fyncall login`
/// working, while a computer that never signed in is held back.
#[test]
fn a_device_signed_in_before_is_not_locked_out_by_guesses_from_elsewhere() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::demo(dir.path());
    let home = dir.path().join("home");
    expect(
        &home,
        &["login", "--server", &server.url, "--email", ALICE],
        0,
    );
    let devices = home.join("devices");
    let kept = std::fs::read_to_string(&devices).expect("the device token is kept");
    assert!(kept.contains(ALICE) && kept.contains("fyn_"), "{kept}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&devices)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    expect(&home, &["logout"], 0);
    assert!(devices.exists(), "signing out keeps the device token");
    // Twelve wrong guesses, each from an address of its own, lock the account.
    for i in 0..12 {
        let ip: std::net::IpAddr = format!("127.0.7.{}", i + 1).parse().expect("ip");
        let http = reqwest::blocking::Client::builder()
            .local_address(ip)
            .build()
            .expect("client");
        let _ = http
            .post(format!("{}/api/v1/auth/login", server.url))
            .json(&serde_json::json!({"email": ALICE, "password": "a wrong guess!"}))
            .send();
    }
    let stranger = dir.path().join("stranger");
    let out = fyncall(
        &stranger,
        &["login", "--server", &server.url, "--email", ALICE],
    );
    assert_ne!(out.status.code(), Some(0), "a new computer is held back");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("too many failed sign-ins"), "{err}");
    expect(
        &home,
        &["login", "--server", &server.url, "--email", ALICE],
        0,
    );
}

#[test]
fn plain_http_goes_only_to_this_machine_unless_allowed() {
    let dir = tempfile::tempdir().expect("dir");
    let db = demo_db(dir.path());
    // Any 127.x address is this machine.
    let server = Server::start_with(&db, "127.0.0.2", 0, &[]);
    assert!(
        server.url.starts_with("http://127.0.0.2:"),
        "{}",
        server.url
    );
    let home = dir.path().join("home");
    expect(
        &home,
        &["login", "--server", &server.url, "--email", ALICE],
        0,
    );

    // Another machine over plain HTTP: refused before any connection (the
    // address is reserved for documentation and reaches nothing).
    let other = dir.path().join("other");
    let args = [
        "login",
        "--server",
        "http://192.0.2.1:8470",
        "--email",
        ALICE,
    ];
    let out = fyncall(&other, &args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "refused as input, not unreachable"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("plain HTTP") && err.contains("--allow-http"),
        "{err}"
    );
    assert!(!other.join("session.json").exists());
}

#[test]
fn an_agent_lists_ends_sessions_and_changes_the_password() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::demo(dir.path());
    let laptop = dir.path().join("laptop");
    let desktop = dir.path().join("desktop");
    expect(
        &laptop,
        &["login", "--server", &server.url, "--email", ALICE],
        0,
    );
    expect(
        &desktop,
        &["login", "--server", &server.url, "--email", ALICE],
        0,
    );

    let list = expect(&laptop, &["sessions"], 0);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert_eq!(
        list.lines().filter(|l| l.starts_with('*')).count(),
        1,
        "{list}"
    );
    assert!(list.contains("fyncall/"), "the client names itself: {list}");

    let ended = expect(&laptop, &["sessions", "end-others"], 0);
    assert!(ended.contains("1 other"), "{ended}");
    let info = expect(&desktop, &["info"], 0);
    assert!(
        info.contains("offline"),
        "the desktop's session ended: {info}"
    );
    assert_eq!(expect(&laptop, &["sessions"], 0).lines().count(), 1);

    // A new password: the other session ends, the old password stops working.
    expect(
        &desktop,
        &["login", "--server", &server.url, "--email", ALICE],
        0,
    );
    let new_password = "a new and longer passphrase";
    let short = Command::new(env!("CARGO_BIN_EXE_fyncall"))
        .arg("--home")
        .arg(&laptop)
        .arg("password")
        .env("FYNCALL_PASSWORD", PASSWORD)
        .env("FYNCALL_NEW_PASSWORD", "short")
        .output()
        .expect("runs");
    let refused = expect_output(short, &["password"], 1);
    assert!(refused.is_empty());
    let out = Command::new(env!("CARGO_BIN_EXE_fyncall"))
        .arg("--home")
        .arg(&laptop)
        .arg("password")
        .env("FYNCALL_PASSWORD", PASSWORD)
        .env("FYNCALL_NEW_PASSWORD", new_password)
        .output()
        .expect("runs");
    let changed = expect_output(out, &["password"], 0);
    assert!(changed.contains("Password changed"), "{changed}");
    assert!(expect(&desktop, &["info"], 0).contains("offline"));
    assert!(expect(&laptop, &["info"], 0).contains("online"));
    let out = fyncall(
        &desktop,
        &["login", "--server", &server.url, "--email", ALICE],
    );
    assert_eq!(out.status.code(), Some(1), "the old password is refused");
    let out = Command::new(env!("CARGO_BIN_EXE_fyncall"))
        .arg("--home")
        .arg(&desktop)
        .args(["login", "--server", &server.url, "--email", ALICE])
        .env("FYNCALL_PASSWORD", new_password)
        .output()
        .expect("runs");
    expect_output(out, &["login"], 0);
}

/// The CLI keeps its token in the OS keyring like the desktop app, and reads
/// a sign-in kept there (the app's included): one code path, fyncall-signin.
#[test]
fn the_token_lives_in_the_os_keyring_and_is_shared() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::demo(dir.path());
    let (_bus, address) = fyncall_signin::testing::private_bus(dir.path());
    let _keyring = fyncall_signin::testing::keyring_daemon(&address, dir.path());
    let home = dir.path().join("home");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_fyncall"))
            .arg("--home")
            .arg(&home)
            .args(args)
            .env("FYNCALL_PASSWORD", PASSWORD)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .output()
            .expect("runs")
    };
    expect_output(
        run(&["login", "--server", &server.url, "--email", ALICE]),
        &["login"],
        0,
    );
    let file = std::fs::read_to_string(home.join("session.json")).expect("session file");
    let saved: serde_json::Value = serde_json::from_str(&file).expect("json");
    assert_eq!(saved["token_in_keyring"], true, "{file}");
    assert_eq!(saved["token"], "", "no token in the file");
    let info = expect_output(run(&["info"]), &["info"], 0);
    assert!(
        info.contains("online"),
        "the token came from the keyring: {info}"
    );
    // Without the keyring the sign-in cannot be used, and says why.
    let out = fyncall(&home, &["sync"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("OS keyring"));
    expect_output(run(&["logout"]), &["logout"], 0);
    assert!(!home.join("session.json").exists());
}
