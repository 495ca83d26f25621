//! The real app end to end: the `fyncall-desk` binary built by
//! `scripts/build` (FYNCALL_DESK_BIN), driven over WebDriver (tauri-driver +
//! WebKitWebDriver) under Xvfb with a private D-Bus session, against a real
//! `fyncall-server` process with demo data. Screenshots go to `artifacts/`.
//!
//! Run by `scripts/test` (it builds the app first):
//! `FYNCALL_DESK_BIN=... cargo test -p fyncall-desk --test e2e -- --ignored`

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

const PASSWORD: &str = "fyncall-demo";

struct Reaper(Vec<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for c in self.0.iter_mut().rev() {
            // Its descendants first (tauri-driver, WebKitWebDriver, the app).
            for pid in descendants(c.id()) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Every process below `root`, read from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            // "pid (comm) state ppid ...": comm may hold spaces, so read after ')'.
            let ppid = std::fs::read_to_string(e.path().join("stat"))
                .ok()
                .and_then(|stat| {
                    let (_, rest) = stat.rsplit_once(')')?;
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                });
            if let Some(ppid) = ppid {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (child, parent) in &parent_of {
            if *parent == p && !out.contains(child) {
                out.push(*child);
                frontier.push(*child);
            }
        }
    }
    out.reverse();
    out
}

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_fyncall-desk"))
        .parent()
        .expect("bin dir")
        .to_path_buf()
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<Value>) -> Value {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Server {
    child: Child,
    url: String,
}

fn serve(db: &Path, port: u16) -> Server {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut child = Command::new(bin_dir().join("fyncall-server"))
            .args(["serve", "--db"])
            .arg(db)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
        if let Some(url) = line.trim().strip_prefix("listening on ") {
            return Server {
                child,
                url: url.to_owned(),
            };
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(Instant::now() < deadline, "server did not start: {line:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A WebDriver session on the app.
struct Driver {
    http: reqwest::blocking::Client,
    base: String,
}

impl Driver {
    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(Duration::from_secs(30));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().expect("webdriver call").json().expect("json");
        v["value"].clone()
    }

    fn find(&self, css: &str) -> Option<String> {
        let v = self.call(
            reqwest::Method::POST,
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        let found = v
            .as_object()?
            .iter()
            .find(|(k, _)| k.starts_with("element"))
            .and_then(|(_, id)| id.as_str())
            .map(str::to_owned);
        if found.is_none() && v.get("error").is_none() {
            eprintln!("unexpected find answer for {css}: {v}");
        }
        found
    }

    fn wait(&self, css: &str) -> String {
        wait_for(css, Duration::from_secs(20), || {
            self.find(css).map(Value::String)
        })
        .as_str()
        .expect("id")
        .to_owned()
    }

    fn text(&self, css: &str) -> String {
        let id = self.wait(css);
        let v = self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None);
        match v.as_str() {
            Some(t) => t.to_owned(),
            None => format!("(no text: {v})"),
        }
    }

    fn click(&self, css: &str) {
        let id = self.wait(css);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        );
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.wait(css);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        );
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        );
    }

    fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    fn screenshot(&self, dir: &Path, name: &str) {
        let png = self.call(reqwest::Method::GET, "/screenshot", None);
        if let Some(b64) = png.as_str() {
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64) {
                let _ = std::fs::write(dir.join(format!("{name}.png")), bytes);
            }
        }
    }

    fn wait_text(&self, css: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let t = self.text(css);
            if pred(&t) {
                return t;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}; {css} shows {t:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn api_login(url: &str, email: &str) -> (reqwest::blocking::Client, String) {
    let http = reqwest::blocking::Client::new();
    let v: Value = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .expect("login")
        .json()
        .expect("json");
    (http, v["token"].as_str().expect("token").to_owned())
}

#[test]
#[ignore = "needs the app built by scripts/build; scripts/test runs it"]
fn the_real_app_end_to_end() {
    let app = std::env::var("FYNCALL_DESK_BIN")
        .expect("FYNCALL_DESK_BIN: the app built by scripts/build (custom protocol)");
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts/e2e");
    std::fs::create_dir_all(&artifacts).expect("artifacts");
    let run = tempfile::tempdir().expect("dir");
    let mut reaper = Reaper(Vec::new());

    // The team server with demo data, as a real process.
    let db = run.path().join("team.db");
    let out = Command::new(bin_dir().join("fyncall-server"))
        .args(["demo", "--db"])
        .arg(&db)
        .output()
        .expect("demo");
    assert!(out.status.success());
    let server = serve(&db, 0);
    let url = server.url.clone();
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    reaper.0.push(server.child);

    // X, then D-Bus and tauri-driver inside it.
    let display = format!(":{}", 90 + (std::process::id() % 9));
    reaper.0.push(
        Command::new("Xvfb")
            .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb starts"),
    );
    wait_for("Xvfb", Duration::from_secs(10), || {
        Command::new("xdpyinfo")
            .args(["-display", &display])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()
            .filter(|s| s.success())
            .map(|_| Value::Null)
    });
    for d in ["data", "cache", "config"] {
        std::fs::create_dir_all(run.path().join(d)).expect("xdg");
    }
    let driver_port = 4444 + (std::process::id() % 500) as u16;
    reaper.0.push(
        Command::new("dbus-run-session")
            .args(["--", "tauri-driver", "--port", &driver_port.to_string()])
            .env("DISPLAY", &display)
            .env("XDG_DATA_HOME", run.path().join("data"))
            .env("XDG_CACHE_HOME", run.path().join("cache"))
            .env("XDG_CONFIG_HOME", run.path().join("config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver starts (scripts/setup installs it)"),
    );
    let http = reqwest::blocking::Client::new();
    let wd = format!("http://127.0.0.1:{driver_port}");
    wait_for("tauri-driver", Duration::from_secs(20), || {
        http.get(format!("{wd}/status"))
            .timeout(Duration::from_secs(2))
            .send()
            .ok()
            .filter(|r| r.status().is_success())
            .map(|_| Value::Null)
    });
    let home = run.path().join("home");
    let started = Instant::now();
    let session: Value = http
        .post(format!("{wd}/session"))
        .timeout(Duration::from_secs(60))
        .json(&json!({"capabilities": {"alwaysMatch": {"tauri:options": {
            "application": app, "args": ["--home", home.to_string_lossy()]}}}}))
        .send()
        .expect("session")
        .json()
        .expect("json");
    let sid = session["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {session}"))
        .to_owned();
    let d = Driver {
        http: http.clone(),
        base: format!("{wd}/session/{sid}"),
    };

    // Sign in.
    d.type_into("input[name=server]", &url);
    d.type_into("input[name=email]", "alice@demo.fyncall.test");
    d.type_into("input[name=password]", PASSWORD);
    d.screenshot(&artifacts, "01-sign-in");
    d.click("button[type=submit]");
    d.wait("[data-testid=ticket-list] tbody tr");
    println!("sign-in to first rendered view: {:?}", started.elapsed());

    // Each view shows its rows and the count the server gives.
    let (api, token) = api_login(&url, "alice@demo.fyncall.test");
    for (view, shot) in [
        ("all", "02-all"),
        ("mine", "03-mine"),
        ("sla_at_risk", "04-sla-at-risk"),
        ("pending", "05-pending"),
        ("ai_escalated", "06-ai-escalated"),
    ] {
        let clicked = Instant::now();
        d.click(&format!("a[data-view={view}]"));
        let server_total: Value = api
            .get(format!("{url}/api/v1/tickets?view={view}&limit=1"))
            .bearer_auth(&token)
            .send()
            .expect("list")
            .json()
            .expect("json");
        let expected = server_total["total"].as_u64().expect("total").to_string();
        let side = d.wait_text(&format!("[data-count={view}]"), view, |t| t == expected);
        let total = d.wait_text("[data-testid=total]", view, |t| t == expected);
        println!(
            "view {view}: {total} tickets (sidebar {side}), rendered in {:?}",
            clicked.elapsed()
        );
        d.screenshot(&artifacts, shot);
    }

    // Open my first ticket; change priority, comment, resolve with a note, reopen.
    d.click("a[data-view=mine]");
    d.wait("[data-testid=ticket-list] tbody tr");
    let tid = d
        .script(
            "return document.querySelector('[data-testid=ticket-list] tbody tr').dataset.ticket;",
            json!([]),
        )
        .as_str()
        .expect("ticket id")
        .to_owned();
    d.click("[data-testid=ticket-list] tbody tr td.subject");
    let subject = d.wait_text("[data-testid=ticket-subject]", "the ticket page", |t| {
        t.starts_with('#')
    });
    let number = subject.split(' ').next().unwrap_or_default().to_owned();
    assert!(number.starts_with('#'), "{subject}");
    let set_select = |css: &str, value: &str| {
        let id = d.wait(css);
        d.script(
            "const s = arguments[0]; s.value = arguments[1]; s.dispatchEvent(new Event('change', {bubbles: true}));",
            json!([{"element-6066-11e4-a52e-4f8c6e9ae5a4": id}, value]),
        );
    };
    d.click("select[aria-label='Change priority'] option[value=urgent]");
    if !d.text("[data-testid=timeline]").contains("→ urgent") {
        set_select("select[aria-label='Change priority']", "urgent");
    }
    d.wait_text("[data-testid=timeline]", "priority change", |t| {
        t.contains("→ urgent")
    });
    d.type_into("textarea[aria-label=Comment]", "Checked with the warehouse");
    d.click("form button[type=submit]");
    d.wait_text("[data-testid=timeline]", "comment", |t| {
        t.contains("Checked with the warehouse")
    });
    d.type_into("input[aria-label='Resolution note']", "Sent a new lid");
    d.screenshot(&artifacts, "07-ticket");
    d.click("button[data-action=resolve]");
    d.wait_text("[data-testid=timeline]", "resolution", |t| {
        t.contains("resolution note: Sent a new lid")
    });
    // It reached the server.
    let server_ticket = || -> Value {
        api.get(format!("{url}/api/v1/tickets/{tid}"))
            .bearer_auth(&token)
            .send()
            .ok()
            .and_then(|r| r.json().ok())
            .unwrap_or(Value::Null)
    };
    let synced =
        |v: &Value| v["ticket"]["status"] == "resolved" && v["ticket"]["priority"] == "urgent";
    let start = Instant::now();
    let mut last = server_ticket();
    while !synced(&last) && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(200));
        last = server_ticket();
    }
    if !synced(&last) {
        d.screenshot(&artifacts, "07-not-synced");
        let problems = d.text("[data-testid=connection]");
        panic!(
            "the resolve did not reach the server in 30 s; connection panel: {problems:?}; server ticket: {}",
            last["ticket"]
        );
    }
    // Reopen.
    d.click("button[data-action=reopen]");
    d.wait_text("[data-testid=timeline]", "reopen", |t| {
        t.contains("resolved → in progress")
    });

    // A ticket whose subject is markup renders as text.
    let (admin, admin_token) = api_login(&url, "admin@demo.fyncall.test");
    let conversations: Value = admin
        .get(format!("{url}/api/v1/conversations"))
        .bearer_auth(&admin_token)
        .send()
        .expect("conversations")
        .json()
        .expect("json");
    let conversation = conversations
        .as_array()
        .and_then(|a| a.first())
        .or_else(|| {
            conversations["conversations"]
                .as_array()
                .and_then(|a| a.first())
        })
        .and_then(|c| c["id"].as_str())
        .expect("a conversation")
        .to_owned();
    let markup = "<img src=x onerror=alert(1)>";
    let me: Value = api
        .get(format!("{url}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .expect("me")
        .json()
        .expect("json");
    let created = admin
        .post(format!("{url}/api/v1/tickets"))
        .bearer_auth(&admin_token)
        .json(
            &json!({"conversation_id": conversation, "subject": markup, "priority": "high",
                      "assignee_id": me["id"]}),
        )
        .send()
        .expect("create");
    assert!(created.status().is_success(), "{}", created.status());
    d.click("a[data-view=all]");
    d.wait_text("[data-testid=ticket-list]", "the markup ticket", |t| {
        t.contains(markup)
    });
    let images = d.script(
        "return document.querySelectorAll('[data-testid=ticket-list] img').length;",
        json!([]),
    );
    assert_eq!(images, json!(0), "no element was made from ticket text");
    d.screenshot(&artifacts, "08-markup-as-text");

    // Someone else's ticket: as an agent, Alice cannot change its status
    // (the control says why); she claims its conversation and it becomes hers.
    let all_open: Value = admin
        .get(format!(
            "{url}/api/v1/tickets?view=all&status=open,in_progress&limit=200"
        ))
        .bearer_auth(&admin_token)
        .send()
        .expect("list")
        .json()
        .expect("json");
    let bens = all_open["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .find(|t| !t["assignee_id"].is_null() && t["assignee_id"] != me["id"])
        .expect("someone else's open ticket")
        .clone();
    let bens_id = bens["id"].as_str().expect("id").to_owned();
    // A comment puts it at the top of All Tickets (newest update first).
    let commented = admin
        .post(format!("{url}/api/v1/tickets/{bens_id}/comments"))
        .bearer_auth(&admin_token)
        .json(&json!({"body": "Alice, can you take this one?"}))
        .send()
        .expect("comment");
    assert!(commented.status().is_success());
    d.click("a[data-view=all]");
    d.click(&format!("[data-ticket='{bens_id}'] td.subject"));
    d.wait_text("[data-testid=ticket-subject]", "their ticket", |t| {
        t.starts_with('#')
    });
    let why = wait_for(
        "the disabled status control",
        Duration::from_secs(20),
        || {
            let v = d.script(
            "const o = document.querySelector(\"select[aria-label='Change status'] option[value=resolved]\"); \
             return o && o.disabled ? o.title : null;",
            json!([]),
        );
            v.as_str()
                .filter(|t| !t.is_empty())
                .map(|t| Value::String(t.to_owned()))
        },
    );
    assert!(
        why.as_str().unwrap_or("").contains("only the assignee"),
        "{why}"
    );
    d.screenshot(&artifacts, "08b-not-mine");
    d.click("a[data-action=conversation]");
    d.click("button[data-action=claim]");
    d.click("a[data-view=mine]");
    d.wait(&format!(
        "[data-testid=ticket-list] [data-ticket='{bens_id}']"
    ));

    // Create a ticket from that conversation.
    d.click(&format!("[data-ticket='{bens_id}'] td.subject"));
    d.click("a[data-action=conversation]");
    d.click("button[data-action=create]");
    d.type_into(
        "[data-testid=create-form] input[aria-label=Subject]",
        "Follow-up: replacement part",
    );
    d.click("[data-testid=create-form] button[type=submit]");
    d.wait_text("[data-testid=ticket-subject]", "the new ticket", |t| {
        t.contains("Follow-up: replacement part")
    });
    d.wait_text(
        "[data-testid=ticket-subject]",
        "its number from the server",
        |t| t.starts_with('#'),
    );
    d.screenshot(&artifacts, "08c-created");

    // Offline: stop the server, act, see the pending mark; start it, see it sync.
    reaper.0[0].kill().expect("stop server");
    let _ = reaper.0[0].wait();
    d.click("a[data-view=mine]");
    d.click("[data-testid=ticket-list] tbody tr td.subject");
    d.type_into("textarea[aria-label=Comment]", "Typed while offline");
    d.click("form button[type=submit]");
    d.wait_text("[data-testid=timeline]", "offline comment", |t| {
        t.contains("Typed while offline")
    });
    d.wait("[data-testid=pending]");
    d.wait("[data-testid=timeline] .pending-mark");
    d.screenshot(&artifacts, "09-offline-pending");
    let again = serve(&db, port);
    reaper.0[0] = again.child;
    d.click("[data-testid=connection] button");
    wait_for(
        "the pending change to sync",
        Duration::from_secs(30),
        || {
            d.find("[data-testid=pending]")
                .is_none()
                .then_some(Value::Null)
        },
    );
    d.screenshot(&artifacts, "10-synced");

    // As an admin, the same ticket's controls are open.
    d.click("[data-testid=connection] button[data-action=sign-out]");
    d.type_into("input[name=server]", &url);
    d.type_into("input[name=email]", "admin@demo.fyncall.test");
    d.type_into("input[name=password]", PASSWORD);
    d.click("button[type=submit]");
    d.wait("[data-testid=ticket-list] tbody tr");
    d.click("a[data-view=all]");
    d.click(&format!("[data-ticket='{bens_id}'] td.subject"));
    wait_for(
        "the admin's open status control",
        Duration::from_secs(20),
        || {
            let v = d.script(
            "const o = document.querySelector(\"select[aria-label='Change status'] option[value=resolved]\"); \
             return o ? !o.disabled : null;",
            json!([]),
        );
            (v == json!(true)).then_some(v)
        },
    );
    d.screenshot(&artifacts, "11-admin");

    d.call(reqwest::Method::DELETE, "", None);
    println!("screenshots in {}", artifacts.display());
}
