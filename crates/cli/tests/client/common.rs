//! Real processes: the `fyncall-server` binary on 127.0.0.1 with demo data,
//! and the `fyncall` binary on real cache folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub use fyncall_testkit::server::{Serve, Served};
pub use fyncall_testkit::{ADMIN, ALICE, BEN, DEMO_PASSWORD as PASSWORD};

/// The server binary beside `fyncall` (built here if a lone `cargo test -p`
/// did not build it).
pub fn server_bin() -> PathBuf {
    fyncall_testkit::server::server_bin()
}

/// A fresh demo team's database in `dir` (not served yet).
pub fn demo_db(dir: &Path) -> PathBuf {
    fyncall_testkit::server::demo_db(&server_bin(), dir)
}

/// A demo team with `tickets` tickets of history over `days` days.
pub fn history_db(dir: &Path, tickets: usize, days: u32) -> PathBuf {
    fyncall_testkit::server::demo_db_with(
        &server_bin(),
        dir,
        &[
            "--tickets",
            &tickets.to_string(),
            "--history-days",
            &days.to_string(),
        ],
    )
}

pub struct Server {
    served: Served,
    pub db: PathBuf,
    pub url: String,
    pub port: u16,
}

impl Server {
    /// A fresh demo team in `dir`, served on a free port.
    pub fn demo(dir: &Path) -> Server {
        Server::start(&demo_db(dir), 0)
    }

    /// Serves `db` on `port` (0: any free one).
    pub fn start(db: &Path, port: u16) -> Server {
        Server::start_with(db, "127.0.0.1", port, &[])
    }

    /// Serves `db` on `host:port` with more `serve` options.
    pub fn start_with(db: &Path, host: &str, port: u16, extra: &[&str]) -> Server {
        let served = Serve::new(server_bin())
            .db(db)
            .listen(host, port)
            .args(extra)
            .start();
        Server {
            db: db.to_path_buf(),
            url: served.url.clone(),
            port: served.port,
            served,
        }
    }

    /// SIGTERM, and wait for a clean exit.
    pub fn stop(&mut self) {
        self.served.stop();
    }

    pub fn restart(&mut self) {
        self.stop();
        *self = Server::start(&self.db.clone(), self.port);
    }

    pub fn api(&self, email: &str) -> Api {
        Api::login(&self.url, email)
    }
}

/// A signed-in HTTP client of the API.
pub struct Api {
    http: reqwest::blocking::Client,
    base: String,
    token: String,
}

impl Api {
    pub fn login(url: &str, email: &str) -> Api {
        let http = reqwest::blocking::Client::new();
        let token = fyncall_testkit::http::login_blocking(&http, url, email, PASSWORD).token;
        Api {
            http,
            base: format!("{url}/api/v1"),
            token,
        }
    }

    pub fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .expect("get");
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().expect("json")
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .expect("post");
        assert!(r.status().is_success(), "POST {path}: {}", r.status());
        r.json().expect("json")
    }

    pub fn me(&self) -> Value {
        self.get("/me")
    }

    /// Every timeline entry of the team, pulled from cursor 0.
    pub fn all_activity(&self) -> Vec<Value> {
        let mut cursor = 0;
        let mut out = Vec::new();
        loop {
            let page = self.get(&format!("/sync/pull?cursor={cursor}&limit=500"));
            for c in page["changes"].as_array().expect("changes") {
                if c["entity"] == "activity" {
                    out.push(c["data"].clone());
                }
            }
            cursor = page["cursor"].as_i64().expect("cursor");
            if page["has_more"] != json!(true) {
                return out;
            }
        }
    }
}

/// Runs `fyncall` with `--home home`.
pub fn fyncall(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fyncall"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env("FYNCALL_PASSWORD", PASSWORD)
        .env_remove("FYNCALL_HOME")
        // No OS keyring: the tests never touch the keyring of whoever runs them.
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/fyncall-test-bus",
        )
        .stdin(Stdio::null())
        .output()
        .expect("fyncall runs")
}

/// Runs `fyncall` and expects exit code `code`.
pub fn expect(home: &Path, args: &[&str], code: i32) -> String {
    let out = fyncall(home, args);
    expect_output(out, args, code)
}

/// Checks a finished `fyncall`'s exit code; its stdout.
pub fn expect_output(out: Output, args: &[&str], code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "fyncall {args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `fyncall --json` and parses its output.
pub fn json_of(home: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&expect(home, &all, 0)).expect("json output")
}

pub fn login(home: &Path, server: &Server, email: &str) {
    expect(
        home,
        &["login", "--server", &server.url, "--email", email],
        0,
    );
}

/// Tickets of `view` in the cache of `home` (up to 500).
pub fn tickets(home: &Path, view: &str) -> Vec<Value> {
    json_of(home, &["tickets", "--view", view, "--limit", "500"])["tickets"]
        .as_array()
        .expect("tickets")
        .clone()
}

/// Open or in-progress tickets of the signed-in agent.
pub fn workable(home: &Path) -> Vec<Value> {
    tickets(home, "mine")
        .into_iter()
        .filter(|t| t["status"] == "open" || t["status"] == "in_progress")
        .collect()
}

/// Waits for `check` (every 20 ms); how long it took.
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    fyncall_testkit::wait::wait_for_every(what, timeout, Duration::from_millis(20), || {
        check().then_some(())
    });
    start.elapsed()
}
