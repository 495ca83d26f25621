//! Real parts for tests (feature `testing`): a private D-Bus session bus
//! that starts no service on demand, and a gnome-keyring-daemon on it with
//! a login keyring of its own, made and unlocked in a temporary folder.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process, ended however the test ends.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private session bus in `dir`; with its address. No service starts on
/// demand (the standard session bus would start a keyring of its own).
pub fn private_bus(dir: &Path) -> (Daemon, String) {
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

/// gnome-keyring-daemon on the bus at `address`, its login keyring made and
/// unlocked with a password given on stdin; returns once it answers.
pub fn keyring_daemon(address: &str, dir: &Path) -> Daemon {
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
    let daemon = Daemon(child);
    wait_for_name(address, "org.freedesktop.secrets");
    daemon
}

/// Waits until `name` is owned on the bus at `address`.
fn wait_for_name(address: &str, name: &str) {
    let start = Instant::now();
    loop {
        let owned = Command::new("dbus-send")
            .args([
                &format!("--bus={address}"),
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                &format!("string:{name}"),
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
            .unwrap_or(false);
        if owned {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{name} never appeared on the bus"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
