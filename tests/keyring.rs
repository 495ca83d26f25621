//! The sign-in token in a real OS keyring: GNOME Keyring's Secret Service
//! (gnome-keyring-daemon, installed by scripts/setup) on a private D-Bus
//! session, with a keyring of its own in a temporary folder.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fyncall_desk::keyring::{Keyring, KeyringError};

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private session bus that starts no service on demand (the standard
/// session bus would start a keyring daemon of its own when asked).
fn bus(dir: &std::path::Path) -> (Daemon, String) {
    let config = dir.join("bus.conf");
    std::fs::write(
        &config,
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
    )
    .expect("bus config");
    let mut child = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon runs (scripts/setup installs dbus)");
    let stdout = child.stdout.take().expect("stdout");
    let daemon = Daemon(child);
    let mut address = String::new();
    BufReader::new(stdout)
        .read_line(&mut address)
        .expect("address");
    (daemon, address.trim().to_owned())
}

/// gnome-keyring-daemon on the bus at `address`, its login keyring made
/// and unlocked with a password given on stdin.
fn keyring_daemon(address: &str, dir: &std::path::Path) -> Daemon {
    let mut child = Command::new("gnome-keyring-daemon")
        .args(["--foreground", "--unlock", "--components=secrets"])
        .env("DBUS_SESSION_BUS_ADDRESS", address)
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_RUNTIME_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gnome-keyring-daemon runs (scripts/setup installs gnome-keyring)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"test keyring").expect("password");
    drop(stdin);
    Daemon(child)
}

fn connect(address: &str) -> Keyring {
    let start = Instant::now();
    loop {
        match Keyring::at(address) {
            Ok(k) => return k,
            Err(e) if start.elapsed() < Duration::from_secs(10) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("the keyring never answered: {e}"),
        }
    }
}

#[test]
fn a_token_is_kept_replaced_and_forgotten_in_the_keyring() {
    let dir = tempfile::tempdir().expect("dir");
    let (_bus, address) = bus(dir.path());
    let _daemon = keyring_daemon(&address, dir.path());
    let keyring = connect(&address);

    let alice = "http://127.0.0.1:8470 0193a0c4-0000-7000-8000-00000000a11c";
    let ben = "http://127.0.0.1:8470 0193a0c4-0000-7000-8000-000000000be2";
    assert_eq!(keyring.get(alice).expect("get"), None, "nothing kept yet");
    keyring
        .store(alice, "Fyncall Desk sign-in", "first-token")
        .expect("store");
    assert_eq!(
        keyring.get(alice).expect("get").as_deref(),
        Some("first-token")
    );
    // Signing in again replaces the token; another account is apart.
    keyring
        .store(alice, "Fyncall Desk sign-in", "second-token")
        .expect("store again");
    assert_eq!(
        keyring.get(alice).expect("get").as_deref(),
        Some("second-token")
    );
    assert_eq!(keyring.get(ben).expect("get"), None);
    keyring
        .store(ben, "Fyncall Desk sign-in", "ben-token")
        .expect("store ben");

    // A new connection (the app's next start) finds it.
    drop(keyring);
    let keyring = connect(&address);
    assert_eq!(
        keyring.get(alice).expect("get").as_deref(),
        Some("second-token")
    );
    assert_eq!(keyring.get(ben).expect("get").as_deref(), Some("ben-token"));

    // Signing out forgets one account's token only.
    keyring.delete(alice).expect("delete");
    assert_eq!(keyring.get(alice).expect("get"), None);
    assert_eq!(keyring.get(ben).expect("get").as_deref(), Some("ben-token"));
}

#[test]
fn a_locked_keyring_is_reported_so_the_token_goes_to_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let (_bus, address) = bus(dir.path());
    let _daemon = keyring_daemon(&address, dir.path());
    let keyring = connect(&address);
    // Lock every collection, as a screen lock or a timeout would.
    let conn = zbus::blocking::connection::Builder::address(address.as_str())
        .and_then(|b| b.build())
        .expect("bus");
    let collections = vec![
        zbus::zvariant::OwnedObjectPath::try_from("/org/freedesktop/secrets/collection/login")
            .expect("path"),
    ];
    conn.call_method(
        Some("org.freedesktop.secrets"),
        "/org/freedesktop/secrets",
        Some("org.freedesktop.Secret.Service"),
        "Lock",
        &(collections,),
    )
    .expect("lock");
    match keyring.store("someone", "Fyncall Desk sign-in", "token") {
        Err(KeyringError::Locked) => {}
        other => panic!("a locked keyring needs a prompt, which the app does not show: {other:?}"),
    }
}

#[test]
fn a_session_without_a_keyring_says_so() {
    let dir = tempfile::tempdir().expect("dir");
    let (_bus, address) = bus(dir.path());
    match Keyring::at(&address) {
        Err(KeyringError::Unavailable(why)) => assert!(!why.is_empty()),
        Err(e) => panic!("expected 'unavailable', got {e}"),
        Ok(_) => panic!("there is no keyring on this bus"),
    }
}
