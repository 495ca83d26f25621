//! Real mail servers on 127.0.0.1 for the email channel's tests and
//! benches: Dovecot (IMAP with IDLE, from Debian) serving a Maildir the
//! test drops mail into as a mail transfer agent would, and an SMTP server
//! (aiosmtpd, from PyPI: `tests/support/smtp_sink.py`) that keeps what it
//! accepts. Both are stopped when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1 (free when this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

fn wait_for_port(port: u16, what: &str) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} did not listen on 127.0.0.1:{port} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A Dovecot IMAP server with one user.
pub struct Dovecot {
    pub port: u16,
    /// IMAPS (TLS from the first byte), when started with a certificate.
    pub tls_port: Option<u16>,
    pub user: String,
    pub password: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
    dropped: u64,
}

impl Dovecot {
    /// Starts Dovecot on a free port serving `user`'s Maildir.
    ///
    /// # Panics
    /// When Dovecot is not installed (`scripts/setup` installs it) or does not start.
    pub fn start(user: &str, password: &str) -> Dovecot {
        Dovecot::start_with(user, password, None, true)
    }

    /// Starts Dovecot without IDLE among its capabilities, as some servers
    /// are: a client must look for new mail itself.
    pub fn start_without_idle(user: &str, password: &str) -> Dovecot {
        Dovecot::start_with(user, password, None, false)
    }

    /// Starts Dovecot offering TLS with this certificate chain and key (PEM):
    /// STARTTLS on [`Dovecot::port`], IMAPS on [`Dovecot::tls_port`].
    pub fn start_tls(user: &str, password: &str, cert_pem: &str, key_pem: &str) -> Dovecot {
        Dovecot::start_with(user, password, Some((cert_pem, key_pem)), true)
    }

    fn start_with(user: &str, password: &str, tls: Option<(&str, &str)>, idle: bool) -> Dovecot {
        let dir = tempfile::tempdir().expect("a folder for Dovecot");
        let base = dir.path();
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(base.join(sub)).expect("Dovecot's folders");
        }
        let maildir = base.join("mail").join(user);
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("the Maildir");
        }
        open_up(base);
        let port = free_port();
        let tls_port = tls.map(|_| free_port());
        let ssl = match tls {
            Some((cert, key)) => {
                std::fs::write(base.join("cert.pem"), cert).expect("the certificate");
                std::fs::write(base.join("key.pem"), key).expect("the key");
                format!(
                    "ssl = yes\nssl_cert = <{}\nssl_key = <{}\n",
                    base.join("cert.pem").display(),
                    base.join("key.pem").display()
                )
            }
            None => "ssl = no\n".to_owned(),
        };
        let capability = if idle {
            String::new()
        } else {
            "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+\n".to_owned()
        };
        let conf = format!(
            "protocols = imap\n\
             listen = 127.0.0.1\n\
             base_dir = {run}\n\
             state_dir = {state}\n\
             instance_name = fyncall-test-{port}\n\
             log_path = {log}\n\
             {ssl}\
             {capability}\
             disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\n\
             mail_location = maildir:{mail}/%u\n\
             first_valid_uid = 1\n\
             default_login_user = nobody\n\
             default_internal_user = nobody\n\
             default_internal_group = nogroup\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {users}\n}}\n\
             userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={mail}/%u\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  {imaps}\n}}\n\
             service anvil {{\n  chroot =\n}}\n",
            run = base.join("run").display(),
            state = base.join("state").display(),
            log = base.join("dovecot.log").display(),
            mail = base.join("mail").display(),
            users = base.join("users").display(),
            imaps = match tls_port {
                Some(p) => format!(
                    "inet_listener imaps {{\n    address = 127.0.0.1\n    port = {p}\n    ssl = yes\n  }}"
                ),
                None => "inet_listener imaps {\n    port = 0\n  }".to_owned(),
            },
        );
        std::fs::write(base.join("dovecot.conf"), conf).expect("dovecot.conf");
        std::fs::write(base.join("users"), format!("{user}:{{PLAIN}}{password}\n"))
            .expect("Dovecot's users");
        let mut d = Dovecot {
            port,
            tls_port,
            user: user.to_owned(),
            password: password.to_owned(),
            dir,
            child: None,
            dropped: 0,
        };
        d.start_again();
        d
    }

    fn binary() -> PathBuf {
        for p in ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"] {
            if Path::new(p).exists() {
                return p.into();
            }
        }
        panic!("Dovecot is not installed: run scripts/setup (it installs dovecot-imapd)")
    }

    /// Starts the server again after [`Dovecot::stop`].
    pub fn start_again(&mut self) {
        let child = Command::new(Self::binary())
            .arg("-F")
            .arg("-c")
            .arg(self.dir.path().join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot starts");
        self.child = Some(child);
        wait_for_port(self.port, "Dovecot");
    }

    /// Stops the server (its mail stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM: Dovecot's master stops its children too.
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if start.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.wait();
        }
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            && start.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail").join(&self.user)
    }

    /// Delivers a raw mail into the user's inbox, as an MTA does (written
    /// in `tmp/`, then moved into `new/`).
    pub fn deliver(&mut self, raw: &[u8]) {
        self.dropped += 1;
        let name = format!(
            "{}.M{}P{}Q{}.fyncall-test",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            self.dropped,
            std::process::id(),
            self.dropped
        );
        let tmp = self.maildir().join("tmp").join(&name);
        std::fs::write(&tmp, raw).expect("a mail written");
        open_up(&tmp);
        std::fs::rename(&tmp, self.maildir().join("new").join(&name)).expect("a mail delivered");
    }

    /// How many mails the inbox holds (new and seen).
    pub fn count(&self) -> usize {
        ["new", "cur"]
            .iter()
            .map(|d| {
                std::fs::read_dir(self.maildir().join(d))
                    .map(|r| r.count())
                    .unwrap_or(0)
            })
            .sum()
    }

    /// Dovecot's log, for a failure's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Dovecot reads and writes the mail as `nobody`: the test's folders and
/// files are open to it.
fn open_up(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut paths = vec![path.to_path_buf()];
        while let Some(p) = paths.pop() {
            let mode = if p.is_dir() { 0o777 } else { 0o666 };
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode));
            if p.is_dir()
                && let Ok(entries) = std::fs::read_dir(&p)
            {
                paths.extend(entries.flatten().map(|e| e.path()));
            }
        }
    }
}

/// A real SMTP server keeping every mail it accepts.
pub struct SmtpSink {
    pub port: u16,
    pub user: String,
    pub password: String,
    dir: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    /// Starts it on a free port, signing in `user`.
    ///
    /// # Panics
    /// When aiosmtpd is not installed (`scripts/setup` installs it).
    pub fn start(user: &str, password: &str) -> SmtpSink {
        let dir = tempfile::tempdir().expect("a folder for the SMTP server");
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/support/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .args([
                "--port",
                &port.to_string(),
                "--user",
                user,
                "--password",
                password,
                "--dir",
            ])
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the SMTP server");
        let stdout = child.stdout.take().expect("its output");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the SMTP server says it is ready");
        assert!(
            line.starts_with("ready"),
            "the SMTP server did not start ({line:?}): run scripts/setup (it installs aiosmtpd)"
        );
        wait_for_port(port, "the SMTP server");
        SmtpSink {
            port,
            user: user.to_owned(),
            password: password.to_owned(),
            dir,
            child,
        }
    }

    /// Every mail accepted so far, oldest first.
    pub fn mails(&self) -> Vec<Vec<u8>> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        names.sort();
        names.iter().filter_map(|p| std::fs::read(p).ok()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
