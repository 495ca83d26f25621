//! What the tests of the real app share: the processes they start (a team
//! server, Xvfb, a private D-Bus session with tauri-driver) and a small
//! WebDriver client for the app's window.

// Each test file uses the part it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const PASSWORD: &str = "fyncall-demo";

pub struct Reaper(pub Vec<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for c in self.0.iter_mut().rev() {
            // Its descendants first (tauri-driver, WebKitWebDriver, the app).
            for pid in descendants(c.id()) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            // SIGTERM first: Xvfb then removes its lock and socket.
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            for _ in 0..40 {
                if matches!(c.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Whether X display `n` is free: no lock, or a lock left by a process
/// that is gone (then the stale lock and socket are removed).
fn display_free(n: u32) -> bool {
    let lock = format!("/tmp/.X{n}-lock");
    let socket = format!("/tmp/.X11-unix/X{n}");
    match std::fs::read_to_string(&lock) {
        Err(_) => !Path::new(&socket).exists(),
        Ok(text) => {
            let alive = text
                .trim()
                .parse::<u32>()
                .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
            if alive {
                return false;
            }
            std::fs::remove_file(&lock).is_ok() && {
                let _ = std::fs::remove_file(&socket);
                true
            }
        }
    }
}

/// Every process below `root`, read from /proc.
pub fn descendants(root: u32) -> Vec<u32> {
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

pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_fyncall-desk"))
        .parent()
        .expect("bin dir")
        .to_path_buf()
}

/// A TCP port on 127.0.0.1 free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub use fyncall_testkit::wait::wait_for;

pub struct Server {
    pub child: Child,
    pub url: String,
}

/// A demo team made by `fyncall-server demo` in `dir`, served on a free port.
pub fn demo_server(dir: &Path) -> Server {
    let db = fyncall_testkit::server::demo_db(&bin_dir().join("fyncall-server"), dir);
    serve(&db, 0)
}

/// The demo team with `tickets` tickets of history over `days` days, served.
#[allow(dead_code)]
pub fn history_server(dir: &Path, tickets: usize, days: u32) -> Server {
    let db = fyncall_testkit::server::demo_db_with(
        &bin_dir().join("fyncall-server"),
        dir,
        &[
            "--tickets",
            &tickets.to_string(),
            "--history-days",
            &days.to_string(),
        ],
    );
    serve(&db, 0)
}

pub fn serve(db: &Path, port: u16) -> Server {
    serve_with(&bin_dir().join("fyncall-server"), db, port)
}

/// `fyncall-server` binary `bin` serving the SQLite team `db` on `port` (0: any).
pub fn serve_with(bin: &Path, db: &Path, port: u16) -> Server {
    let served = fyncall_testkit::server::Serve::new(bin)
        .db(db)
        .listen("127.0.0.1", port)
        .start();
    Server {
        url: served.url.clone(),
        child: served.into_child(),
    }
}

/// A WebDriver session on the app.
pub struct Driver {
    pub http: reqwest::blocking::Client,
    pub base: String,
    /// The X display the app's window is on.
    pub display: String,
}

impl Driver {
    pub fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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

    pub fn find(&self, css: &str) -> Option<String> {
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

    pub fn wait(&self, css: &str) -> String {
        wait_for(css, Duration::from_secs(20), || {
            self.find(css).map(Value::String)
        })
        .as_str()
        .expect("id")
        .to_owned()
    }

    pub fn text(&self, css: &str) -> String {
        let id = self.wait(css);
        let v = self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None);
        match v.as_str() {
            Some(t) => t.to_owned(),
            None => format!("(no text: {v})"),
        }
    }

    /// Clicks `css` once it has stood still: WebDriver clicks at a point, so
    /// a row a sync is moving could otherwise take another row's click.
    pub fn click(&self, css: &str) {
        let id = self.wait(css);
        // Into the middle of its pane first: at an edge, a scrollbar can
        // take the click.
        self.script(
            "arguments[0].scrollIntoView({ block: 'center', inline: 'nearest' }); return true;",
            json!([{"element-6066-11e4-a52e-4f8c6e9ae5a4": id}]),
        );
        let rect = |id: &str| self.call(reqwest::Method::GET, &format!("/element/{id}/rect"), None);
        let mut last = rect(&id);
        let start = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(150));
            let now = rect(&id);
            if now == last || start.elapsed() > Duration::from_secs(5) {
                break;
            }
            last = now;
        }
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        );
    }

    /// Picks `value` in the select `css` (as a person would: a `change` follows).
    pub fn choose(&self, css: &str, value: &str) {
        self.wait(css);
        self.script(
            "const s = document.querySelector(arguments[0]); s.value = arguments[1]; \
             s.dispatchEvent(new Event('change', { bubbles: true })); return true;",
            json!([css, value]),
        );
    }

    pub fn type_into(&self, css: &str, text: &str) {
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

    /// Types `text` at the end of what `css` holds (keys such as Enter, `\u{E007}`, included).
    pub fn type_more(&self, css: &str, text: &str) {
        let id = self.wait(css);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        );
    }

    pub fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Runs `script` as WebDriver's asynchronous script: it ends by calling
    /// its last argument with the answer.
    pub fn script_async(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// An accessibility audit of what the window shows (axe-core, WCAG 2.1
    /// A and AA rules), in the light and the dark theme, and its contrast
    /// again with every row as a selected (hovered, focused) one looks: the
    /// serious and critical findings, each as "screen theme rule: where, why".
    pub fn audit(&self, screen: &str) -> Vec<String> {
        let axe = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/node_modules/axe-core/axe.min.js");
        let source = std::fs::read_to_string(&axe).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (scripts/setup installs the UI's packages)",
                axe.display()
            )
        });
        let loaded = self.script("return typeof window.axe !== 'undefined';", json!([]));
        if loaded != json!(true) {
            self.script(&format!("{source}\nreturn true;"), json!([]));
            // The audit sees a failure when there is one: grey on white.
            let probe = self.script_async(
                "const done = arguments[arguments.length - 1]; \
                 const p = document.createElement('p'); p.textContent = 'low contrast probe'; \
                 p.style.color = '#dddddd'; p.style.background = '#ffffff'; document.body.appendChild(p); \
                 axe.run(p, { runOnly: ['color-contrast'] }) \
                   .then((r) => { p.remove(); done(r.violations.length); }) \
                   .catch((e) => { p.remove(); done(String(e)); });",
                json!([]),
            );
            assert_eq!(probe, json!(1), "axe flags a low-contrast probe");
        }
        let mut findings = Vec::new();
        for theme in ["light", "dark"] {
            // Then every row, link and item again as a selected, hovered or
            // focused one looks (the --sel background): the states the
            // resting page does not show.
            let found = self.script_async(
                "const done = arguments[arguments.length - 1]; \
                 document.documentElement.dataset.theme = arguments[0]; \
                 const serious = (r, state) => r.violations \
                     .filter((v) => v.impact === 'serious' || v.impact === 'critical') \
                     .map((v) => `${state}${v.id} (${v.impact}): ${v.nodes.length} element(s), e.g. ${v.nodes.slice(0, 3) \
                       .map((n) => n.target.join(' ') + ' — ' + (n.failureSummary || '').replaceAll('\\n', ' ')).join(' | ')}`); \
                 const rows = 'tr[data-ticket], ul.inbox li, .inbox-row, .palette li, .side a'; \
                 const style = document.createElement('style'); \
                 style.textContent = '.fyncall-audit-sel { background: var(--sel) !important; }'; \
                 requestAnimationFrame(() => axe.run(document, { runOnly: { type: 'tag', \
                   values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }) \
                   .then((r) => { \
                     document.head.appendChild(style); \
                     document.querySelectorAll(rows).forEach((e) => e.classList.add('fyncall-audit-sel')); \
                     return axe.run(document, { runOnly: ['color-contrast'] }) \
                       .then((s) => ({ passed: r.passes.length, \
                         findings: serious(r, '').concat(serious(s, 'selected rows: ')) })); }) \
                   .then((out) => { \
                     document.querySelectorAll('.fyncall-audit-sel').forEach((e) => e.classList.remove('fyncall-audit-sel')); \
                     style.remove(); done(out); }) \
                   .catch((e) => done({ error: String(e) })));",
                json!([theme]),
            );
            // An audit that did not run is a finding, not a pass.
            let passed = found["passed"].as_u64().unwrap_or(0);
            assert!(
                passed > 0,
                "the {screen} audit ({theme}) did not run: {found}"
            );
            println!("audit {screen} ({theme}): {passed} rules passed");
            for f in found["findings"].as_array().into_iter().flatten() {
                findings.push(format!(
                    "{screen} {theme} {}",
                    f.as_str().unwrap_or_default()
                ));
            }
        }
        self.script(
            "delete document.documentElement.dataset.theme; return true;",
            json!([]),
        );
        findings
    }

    /// Saves what the screen shows: the X display the window is on, as an
    /// agent sees it (ImageMagick's `import`, which scripts/setup installs).
    /// Not WebKit's own snapshot over WebDriver: painting without
    /// compositing (a machine with no GPU, as here), WebKit 2.50's snapshot
    /// never answers once a `<select>` holds some values (the archive's
    /// status filter on "closed"), while the window itself shows the page.
    pub fn screenshot(&self, dir: &Path, name: &str) {
        // The page's last change painted: two frames on.
        self.script_async(
            "const done = arguments[arguments.length - 1]; \
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            json!([]),
        );
        let file = dir.join(format!("{name}.png"));
        let taken = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            taken,
            "a screenshot of {} into {}",
            self.display,
            file.display()
        );
    }

    pub fn wait_text(&self, css: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
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

pub fn api_login(url: &str, email: &str) -> (reqwest::blocking::Client, String) {
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

/// What every real-app test starts from: the app `scripts/build` made
/// (FYNCALL_DESK_BIN), the folder screenshots go to, a folder for the run
/// and the processes to stop at its end.
pub struct Run {
    pub app: String,
    pub artifacts: PathBuf,
    pub dir: tempfile::TempDir,
    pub reaper: Reaper,
}

pub fn run() -> Run {
    let app = std::env::var("FYNCALL_DESK_BIN")
        .expect("FYNCALL_DESK_BIN: the app built by scripts/build (custom protocol)");
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts/e2e");
    std::fs::create_dir_all(&artifacts).expect("artifacts");
    Run {
        app,
        artifacts,
        dir: tempfile::tempdir().expect("dir"),
        reaper: Reaper(Vec::new()),
    }
}

/// An X display (Xvfb) with a private D-Bus session running tauri-driver,
/// its data folders under `run`. The processes go into `reaper`.
pub struct Desktop {
    pub display: String,
    pub webdriver: String,
    pub http: reqwest::blocking::Client,
    /// The private session bus the app runs on (a test may serve on it).
    pub bus: String,
    _bus: (fyncall_signin::testing::Daemon, tempfile::TempDir),
}

impl Desktop {
    /// A 1280×800 screen: the app's window fills it.
    pub fn start(run: &Path, reaper: &mut Reaper) -> Desktop {
        Desktop::start_sized(run, reaper, "1280x800")
    }

    /// A screen of `size` ("1920x1080"), for a window made larger than the app's own.
    pub fn start_sized(run: &Path, reaper: &mut Reaper, size: &str) -> Desktop {
        // A display nobody holds: a leftover Xvfb of another run would
        // otherwise answer for ours.
        let display_no = (90..190)
            .map(|n| n + std::process::id() % 7)
            .find(|n| display_free(*n))
            .expect("a free X display number");
        let display = format!(":{display_no}");
        reaper.0.push(
            Command::new("Xvfb")
                .args([
                    &display,
                    "-screen",
                    "0",
                    &format!("{size}x24"),
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb starts"),
        );
        wait_for("Xvfb", Duration::from_secs(30), || {
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
            std::fs::create_dir_all(run.join(d)).expect("xdg");
        }
        // Both of tauri-driver's ports free ones (its native port defaults to
        // 4445, which a second driver on the machine would already hold); what
        // it says goes to a log beside the run, named when it does not answer.
        let driver_port = free_port();
        let native_port = free_port();
        let log_path = run.join("tauri-driver.log");
        let log = std::fs::File::create(&log_path).expect("driver log");
        // A private session bus of its own, so a test can serve on it (the
        // notification service) and nothing of the machine's is reached.
        let bus_dir = tempfile::tempdir().expect("bus dir");
        let (daemon, bus) = fyncall_signin::testing::private_bus(bus_dir.path());
        reaper.0.push(
            Command::new("tauri-driver")
                .args([
                    "--port",
                    &driver_port.to_string(),
                    "--native-port",
                    &native_port.to_string(),
                ])
                .env("DISPLAY", &display)
                .env("DBUS_SESSION_BUS_ADDRESS", &bus)
                .env("XDG_DATA_HOME", run.join("data"))
                .env("XDG_CACHE_HOME", run.join("cache"))
                .env("XDG_CONFIG_HOME", run.join("config"))
                .stdout(log.try_clone().expect("driver log"))
                .stderr(log)
                .spawn()
                .expect("tauri-driver starts (scripts/setup installs it)"),
        );
        let http = reqwest::blocking::Client::new();
        let webdriver = format!("http://127.0.0.1:{driver_port}");
        let started = Instant::now();
        loop {
            let up = http
                .get(format!("{webdriver}/status"))
                .timeout(Duration::from_secs(5))
                .send()
                .is_ok_and(|r| r.status().is_success());
            if up {
                break;
            }
            let exited = reaper
                .0
                .last_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && started.elapsed() < Duration::from_secs(90),
                "tauri-driver on port {driver_port} did not answer ({}); it said:\n{}",
                exited.map_or("still running".to_owned(), |s| s.to_string()),
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Desktop {
            display,
            webdriver,
            http,
            bus,
            _bus: (daemon, bus_dir),
        }
    }

    /// Launches `app` with `args` in a new WebDriver session.
    pub fn launch(&self, app: &str, args: &[String]) -> Driver {
        let session: Value = self
            .http
            .post(format!("{}/session", self.webdriver))
            .timeout(Duration::from_secs(60))
            .json(&json!({"capabilities": {"alwaysMatch": {"tauri:options": {
                "application": app, "args": args}}}}))
            .send()
            .expect("session")
            .json()
            .expect("json");
        let sid = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {session}"))
            .to_owned();
        Driver {
            http: self.http.clone(),
            base: format!("{}/session/{sid}", self.webdriver),
            display: self.display.clone(),
        }
    }
}

impl Driver {
    /// Ends the session, which closes the app.
    pub fn quit(&self) {
        let _ = self
            .http
            .delete(&self.base)
            .timeout(Duration::from_secs(30))
            .send();
    }
}
