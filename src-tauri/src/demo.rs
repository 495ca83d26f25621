//! `--demo`: the team server with a fresh demo team, in this process on
//! 127.0.0.1, and a sign-in as one of its agents. The whole product with one
//! command and no setup.

use chrono::Utc;
use fyncall_server::{app, demo};

use crate::desk::Desk;
use crate::error::{IpcCode, IpcError, IpcResult};

/// The demo account signed in by default.
pub const DEFAULT_ACCOUNT: &str = "alice@demo.fyncall.test";

/// Starts the demo server and signs `desk` in as `email`. The server lives
/// as long as the app.
pub async fn start(desk: &Desk, email: &str) -> IpcResult<String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        IpcError::new(IpcCode::Internal, format!("the demo server {what}: {e}"))
    };
    let dir = desk.home().join("demo-server");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| fail("has no folder", &e))?;
    let team =
        demo::create(&dir.join("team.db"), Utc::now()).map_err(|e| fail("cannot seed", &e))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| fail("cannot listen", &e))?;
    let running = app::start(team.store.clone(), listener)
        .await
        .map_err(|e| fail("cannot start", &e))?;
    let url = format!("http://{}", running.addr);
    // Keep it serving for the app's lifetime.
    std::mem::forget(running.stop);
    tracing::info!(%url, "demo server ready");
    desk.mark_demo();
    desk.sign_in(&url, email, demo::DEMO_PASSWORD, Default::default())
        .await?;
    Ok(url)
}
