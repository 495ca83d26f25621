//! A real `fyncall-server` process on 127.0.0.1: made with [`Serve`],
//! stopped (SIGTERM) or killed, and always reaped when dropped.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static BUILT: Mutex<bool> = Mutex::new(false);

/// The `fyncall-server` binary of this build: `FYNCALL_SERVER_BIN` when
/// set, else the one beside the running test or bench (the target folder's
/// profile folder), built first if a lone `cargo test -p` did not build it.
pub fn server_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("FYNCALL_SERVER_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/<test>-<hash> → target/<profile>/fyncall-server
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from the target folder");
    let bin = profile.join("fyncall-server");
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !*built && !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let release = profile.file_name().is_some_and(|p| p == "release");
        let mut build = Command::new(cargo);
        build.args(["build", "-p", "fyncall-server", "--bin", "fyncall-server"]);
        if release {
            build.arg("--release");
        }
        let status = build.status().expect("cargo build runs");
        assert!(status.success(), "building fyncall-server failed");
    }
    *built = true;
    bin
}

/// A fresh demo team (`fyncall-server demo`) in `dir/team.db`.
pub fn demo_db(bin: &Path, dir: &Path) -> PathBuf {
    demo_db_with(bin, dir, &[])
}

/// [`demo_db`] with more `demo` options (`--tickets N --history-days D`).
pub fn demo_db_with(bin: &Path, dir: &Path, extra: &[&str]) -> PathBuf {
    let db = dir.join("team.db");
    let out = Command::new(bin)
        .args(["demo", "--db"])
        .arg(&db)
        .args(extra)
        .output()
        .expect("fyncall-server demo runs");
    assert!(
        out.status.success(),
        "fyncall-server demo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

/// How to start `fyncall-server serve`.
pub struct Serve {
    bin: PathBuf,
    args: Vec<OsString>,
    host: String,
    port: u16,
    env: Vec<(String, String)>,
    show_errors: bool,
}

impl Serve {
    /// `bin serve`, on 127.0.0.1 on a free port, logging warnings only.
    pub fn new(bin: impl Into<PathBuf>) -> Serve {
        Serve {
            bin: bin.into(),
            args: Vec::new(),
            host: "127.0.0.1".into(),
            port: 0,
            env: vec![("RUST_LOG".into(), "warn".into())],
            show_errors: false,
        }
    }

    /// The SQLite team at `db`.
    pub fn db(self, db: &Path) -> Serve {
        self.arg("--db").arg(db)
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Serve {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Serve
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Where it listens (a port of 0: any free one).
    pub fn listen(mut self, host: &str, port: u16) -> Serve {
        self.host = host.into();
        self.port = port;
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Serve {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Its error output goes to the test's instead of nowhere.
    pub fn show_errors(mut self) -> Serve {
        self.show_errors = true;
        self
    }

    /// Starts it and waits for its first line ("listening on URL"); tries
    /// again for 10 s while the port is still held (by a process just
    /// stopped on a fixed port).
    ///
    /// # Panics
    /// When it does not start: with what it said instead.
    pub fn start(&self) -> Served {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut command = Command::new(&self.bin);
            command
                .arg("serve")
                .args(&self.args)
                .args(["--listen", &format!("{}:{}", self.host, self.port)])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(if self.show_errors {
                    Stdio::inherit()
                } else {
                    Stdio::null()
                });
            for (k, v) in &self.env {
                command.env(k, v);
            }
            let mut child = command
                .spawn()
                .unwrap_or_else(|e| panic!("{} does not start: {e}", self.bin.display()));
            let mut line = String::new();
            let _ = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
            if let Some(url) = line.trim().strip_prefix("listening on ") {
                let port = url
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| panic!("no port in {url:?}"));
                return Served {
                    child: Some(child),
                    url: url.to_owned(),
                    port,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(
                Instant::now() < deadline,
                "fyncall-server did not start: {line:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A running `fyncall-server`; killed and reaped when dropped.
pub struct Served {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT` (or `https://`).
    pub url: String,
    pub port: u16,
}

impl Served {
    /// The API's base: `URL/api/v1`.
    pub fn api(&self) -> String {
        format!("{}/api/v1", self.url)
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGTERM, then waits for it to end (a clean stop); how it ended.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().ok()
    }

    /// The process itself, for a caller that reaps it its own way.
    pub fn into_child(mut self) -> Child {
        self.child.take().expect("a running server")
    }

    /// SIGKILL (a crash), then reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
    }
}
