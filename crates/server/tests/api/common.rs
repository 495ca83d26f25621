//! A real server on 127.0.0.1 with a port of its own and a real database
//! (an SQLite file, or a fresh database in the PostgreSQL cluster named by
//! `FYNCALL_TEST_POSTGRES`), and a team: an admin, two agents, an
//! integration token, a conversation.

use std::sync::Arc;

use fyncall_domain::Role;
use fyncall_server::store::{NewAgent, Store};
use fyncall_server::{Database, Running, auth};
pub use fyncall_testkit::server::{Serve, Served};

/// Which store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(Kind)` once per store, as `NAME::sqlite` and
/// `NAME::postgres`.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::Kind::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::common::Kind::Postgres).await
                }
            }
        )*
    };
}

/// A new empty database in the test cluster; its URL. Blocking.
pub fn postgres_database() -> String {
    fyncall_testkit::postgres::new_database(&fyncall_testkit::postgres::test_cluster(), "t")
}

/// A fresh place for a team of this kind; the folder lives as long as it.
pub struct Place {
    pub database: Database,
    /// Holds the SQLite file (and is removed with the place).
    #[allow(dead_code)]
    pub dir: tempfile::TempDir,
}

impl Place {
    pub async fn new(kind: Kind) -> Place {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = match kind {
            Kind::Sqlite => Database::Sqlite(dir.path().join("team.db")),
            Kind::Postgres => Database::Postgres(
                tokio::task::spawn_blocking(postgres_database)
                    .await
                    .expect("database"),
            ),
        };
        Place { database, dir }
    }

    /// The `fyncall-server` arguments that name this database.
    pub fn args(&self) -> Vec<String> {
        match &self.database {
            Database::Sqlite(path) => vec!["--db".into(), path.display().to_string()],
            Database::Postgres(url) => vec!["--database-url".into(), url.clone()],
        }
    }
}
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub struct Team {
    pub url: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub admin: String,
    pub alice: String,
    pub bob: String,
    pub integration: String,
    pub admin_id: String,
    pub alice_id: String,
    pub bob_id: String,
    pub conversation: String,
    /// Kept so the server runs (and its files live) as long as the team.
    #[allow(dead_code)]
    pub running: Option<Running>,
    #[allow(dead_code)]
    pub place: Place,
}

pub const PASSWORD: &str = "correct horse";

impl Team {
    pub async fn new(kind: Kind) -> Team {
        Team::with_config(kind, fyncall_server::Config::default()).await
    }

    /// A team whose server runs with these limits.
    pub async fn with_config(kind: Kind, config: fyncall_server::Config) -> Team {
        let place = Place::new(kind).await;
        let admin = NewAgent {
            name: "Ada Admin".into(),
            email: "ada@example.com".into(),
            role: Role::Admin,
            password: PASSWORD.into(),
        };
        let hash = auth::hash_password(PASSWORD).expect("hash");
        let database = place.database.clone();
        let (store, _) = tokio::task::spawn_blocking(move || {
            database.create(&admin, &hash, fyncall_server::time::now())
        })
        .await
        .expect("joined")
        .expect("create team");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let running = fyncall_server::start_with(store.clone(), listener, config)
            .await
            .expect("start");
        let url = format!("http://{}/api/v1", running.addr);
        let http = reqwest::Client::new();
        let mut team = Team {
            url,
            http,
            store,
            admin: String::new(),
            alice: String::new(),
            bob: String::new(),
            integration: String::new(),
            admin_id: String::new(),
            alice_id: String::new(),
            bob_id: String::new(),
            conversation: String::new(),
            running: Some(running),
            place,
        };
        let (admin_token, admin_id) = team.login("ada@example.com").await;
        team.admin = admin_token;
        team.admin_id = admin_id;
        for name in ["alice", "bob"] {
            let (s, _) = team
                .call(&team.admin.clone(), Method::POST, "/agents", Some(json!({"name": name, "email": format!("{name}@example.com"), "role": "agent", "password": PASSWORD})))
                .await;
            assert_eq!(s, StatusCode::CREATED);
        }
        let (t, id) = team.login("alice@example.com").await;
        team.alice = t;
        team.alice_id = id;
        let (t, id) = team.login("bob@example.com").await;
        team.bob = t;
        team.bob_id = id;
        let (s, v) = team
            .call(
                &team.admin.clone(),
                Method::POST,
                "/integrations/tokens",
                Some(json!({"name": "chat"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        team.integration = v["token"].as_str().expect("token").to_owned();
        team.conversation = team.new_conversation().await;
        team
    }

    /// Runs the SLA sweep as of `now`, as the server's own task does each second.
    #[allow(dead_code)]
    pub async fn sweep(&self, now: fyncall_domain::Timestamp) -> Option<i64> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.sweep_breaches(now))
            .await
            .expect("joined")
            .expect("sweep")
    }

    pub async fn login(&self, email: &str) -> (String, String) {
        let (s, v) = self
            .call(
                "",
                Method::POST,
                "/auth/login",
                Some(json!({"email": email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        (
            v["token"].as_str().expect("token").to_owned(),
            v["agent"]["id"].as_str().expect("id").to_owned(),
        )
    }

    pub async fn new_conversation(&self) -> String {
        let (s, v) = self
            .call(&self.integration, Method::POST, "/integrations/conversations", Some(json!({"customer": {"name": "Casey", "email": "casey@example.com"}, "channel": "chat"})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().expect("id").to_owned()
    }

    pub async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.url, path));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request reaches the server");
        let status = res.status();
        let text = res.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    /// A ticket made by `token`'s agent on the team's conversation.
    pub async fn ticket(&self, token: &str, priority: &str) -> Value {
        let (s, v) = self
            .call(token, Method::POST, "/tickets", Some(json!({"conversation_id": self.conversation, "subject": "Refund not received", "priority": priority})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(token, Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(token, Method::GET, path, None).await
    }
}

/// Asserts an API.md error: status, code and a message.
pub fn assert_error(got: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(got.0.as_u16(), status, "{}", got.1);
    assert_eq!(got.1["error"]["code"], code, "{}", got.1);
    assert!(
        got.1["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "a message a person can act on: {}",
        got.1
    );
}

/// `fyncall-server init` on `db` (store arguments) with the admin
/// root@example.com signing in with `password`.
pub fn init_team(db: &[String], password: &str) {
    let init = std::process::Command::new(env!("CARGO_BIN_EXE_fyncall-server"))
        .arg("init")
        .args(db)
        .args(["--admin-email", "root@example.com", "--admin-name", "Root"])
        .env("FYNCALL_ADMIN_PASSWORD", password)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("init runs");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
}

/// The real `fyncall-server` binary serving `db` on a free port (killed
/// when dropped); its API URL.
pub fn serve(db: &[String]) -> (Served, String) {
    let served = Serve::new(env!("CARGO_BIN_EXE_fyncall-server"))
        .args(db)
        .start();
    let api = served.api();
    (served, api)
}

/// Every change from `cursor` on, page by page (`GET /sync/pull`, `url`
/// ending in `/api/v1`): the changes and the cursor to ask from next.
pub async fn pull_all(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    mut cursor: i64,
) -> (Vec<Value>, i64) {
    let mut changes = Vec::new();
    loop {
        let page: Value = http
            .get(format!("{url}/sync/pull?cursor={cursor}&limit=500"))
            .bearer_auth(token)
            .send()
            .await
            .expect("pull")
            .json()
            .await
            .expect("json");
        changes.extend(page["changes"].as_array().cloned().unwrap_or_default());
        cursor = page["cursor"]
            .as_i64()
            .unwrap_or_else(|| panic!("a pull page: {page}"));
        if page["has_more"] != true {
            return (changes, cursor);
        }
    }
}
