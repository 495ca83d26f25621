//! The sign-in in a real OS keyring: gnome-keyring-daemon's Secret Service
//! on a private D-Bus session bus. The keyring crate finds the bus through
//! `DBUS_SESSION_BUS_ADDRESS`, so each scenario runs in a child process of
//! this test binary that has it set.

use std::path::Path;
use std::process::Command;

use fyncall_cache::session::{self, Session};
use fyncall_domain::{Agent, Role};
use fyncall_signin::testing::{keyring_daemon, private_bus};
use fyncall_signin::{Keep, Keyring, KeyringError, account, forget, keep, recall};
use uuid::Uuid;

fn session(server: &str) -> Session {
    Session {
        server: server.into(),
        token: "fyn_secret_token".into(),
        agent: Agent {
            id: Uuid::from_u128(0xa11c),
            name: "Alice".into(),
            email: "alice@example.com".into(),
            role: Role::Agent,
            active: true,
        },
        token_in_keyring: false,
        ca_file: None,
        allow_http: false,
    }
}

/// Runs `scenario` in a child with the bus at `address`; fails with its output.
fn in_child(scenario: &str, address: &str, home: &Path) {
    // `timeout`: a keyring that waits on a prompt fails the test, not hangs it.
    let out = Command::new("timeout")
        .arg("60")
        .arg(std::env::current_exe().expect("exe"))
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env("FYNCALL_KEYRING_SCENARIO", scenario)
        .env("FYNCALL_KEYRING_HOME", home)
        .env("DBUS_SESSION_BUS_ADDRESS", address)
        .output()
        .expect("child runs");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("scenario done"),
        "{scenario}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The child: one scenario against the bus it was given.
#[test]
fn child() {
    let Ok(scenario) = std::env::var("FYNCALL_KEYRING_SCENARIO") else {
        return;
    };
    let home = std::path::PathBuf::from(std::env::var("FYNCALL_KEYRING_HOME").expect("home"));
    let keyring = Keyring::new();
    match scenario.as_str() {
        "kept-replaced-forgotten" => {
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
                .expect("again");
            assert_eq!(
                keyring.get(alice).expect("get").as_deref(),
                Some("second-token")
            );
            assert_eq!(keyring.get(ben).expect("get"), None);
            keyring
                .store(ben, "Fyncall Desk sign-in", "ben-token")
                .expect("ben");
            // Signing out forgets one account's token only.
            keyring.delete(alice).expect("delete");
            assert_eq!(keyring.get(alice).expect("get"), None);
            assert_eq!(keyring.get(ben).expect("get").as_deref(), Some("ben-token"));
        }
        "keep" => {
            let kept = keep(
                &home,
                session("https://desk.example.com"),
                Keep::KeyringOrFile,
            )
            .expect("kept");
            assert!(kept.token_in_keyring);
            let file = session::load(&home).expect("load").expect("saved");
            assert!(
                file.token_in_keyring && file.token.is_empty(),
                "no token in the file"
            );
        }
        "recall-and-forget" => {
            // Another process (the CLI after the app) finds the token.
            let s = recall(&home).expect("recall").expect("signed in");
            assert_eq!(s.token, "fyn_secret_token");
            forget(&home, Some(&s)).expect("forget");
            assert!(session::load(&home).expect("load").is_none());
            let key = account("https://desk.example.com", Uuid::from_u128(0xa11c));
            assert_eq!(
                keyring.get(&key).expect("get"),
                None,
                "the keyring entry is gone"
            );
        }
        "no-keyring" => {
            match keyring.get("anyone") {
                Err(KeyringError::Unavailable(why)) => assert!(!why.is_empty()),
                other => panic!("expected 'unavailable', got {other:?}"),
            }
            let kept = keep(
                &home,
                session("https://desk.example.com"),
                Keep::KeyringOrFile,
            )
            .expect("kept in the file");
            assert!(!kept.token_in_keyring);
            let file = session::load(&home).expect("load").expect("saved");
            assert_eq!(file.token, "fyn_secret_token");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(home.join("session.json"))
                    .expect("file")
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600);
            }
            // A sign-in whose keyring is gone cannot be read, and says why.
            let mut elsewhere = file.clone();
            elsewhere.token = String::new();
            elsewhere.token_in_keyring = true;
            session::save(&home, &elsewhere).expect("save");
            let err = recall(&home).expect_err("unreadable");
            assert!(err.to_string().contains("OS keyring"), "{err}");
        }
        "locked" => {
            // A locked keyring whose unlock prompt cannot be shown: the
            // token goes to the file instead of waiting.
            let kept = keep(
                &home,
                session("https://desk.example.com"),
                Keep::KeyringOrFile,
            )
            .expect("kept");
            assert!(!kept.token_in_keyring, "a locked keyring is not used");
            let file = session::load(&home).expect("load").expect("saved");
            assert_eq!(file.token, "fyn_secret_token");
        }
        other => panic!("unknown scenario {other}"),
    }
    println!("scenario done");
}

#[test]
fn a_token_is_kept_replaced_and_forgotten_in_the_keyring() {
    let dir = tempfile::tempdir().expect("dir");
    let (_bus, address) = private_bus(dir.path());
    let _daemon = keyring_daemon(&address, dir.path());
    in_child(
        "kept-replaced-forgotten",
        &address,
        &dir.path().join("home"),
    );
}

#[test]
fn a_sign_in_kept_by_one_program_is_found_by_another() {
    let dir = tempfile::tempdir().expect("dir");
    let (_bus, address) = private_bus(dir.path());
    let _daemon = keyring_daemon(&address, dir.path());
    let home = dir.path().join("home");
    in_child("keep", &address, &home);
    in_child("recall-and-forget", &address, &home);
}

#[test]
fn without_a_keyring_the_token_goes_to_a_private_file() {
    let dir = tempfile::tempdir().expect("dir");
    let (_bus, address) = private_bus(dir.path());
    in_child("no-keyring", &address, &dir.path().join("home"));
}

#[test]
fn a_locked_keyring_leaves_the_token_in_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let (_bus, address) = private_bus(dir.path());
    let _daemon = keyring_daemon(&address, dir.path());
    // Lock every collection, as a screen lock or a timeout would.
    let locked = Command::new("dbus-send")
        .args([
            &format!("--bus={address}"),
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ])
        .output()
        .expect("dbus-send runs");
    assert!(
        locked.status.success(),
        "{}",
        String::from_utf8_lossy(&locked.stderr)
    );
    in_child("locked", &address, &dir.path().join("home"));
}
