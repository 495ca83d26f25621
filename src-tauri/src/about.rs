//! Settings → About, and "Copy diagnostic info": the app's and the server's
//! versions, this machine, the sign-in and the sync state, the last errors.
//! Never a token or a password.

use std::path::Path;

use serde::Serialize;

use crate::desk::Desk;
use crate::error::IpcResult;

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct About {
    pub app_version: String,
    /// The server's version (`None` when signed out or it cannot be reached).
    pub server_version: Option<String>,
    pub server: Option<String>,
    /// Where the app writes its logs.
    pub log_folder: String,
}

/// This machine's operating system in words ("Debian GNU/Linux 12 (bookworm)").
fn os_name() -> String {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_owned())
        });
    let base = format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
    match pretty {
        Some(p) => format!("{p} ({base})"),
        None => base,
    }
}

impl Desk {
    pub async fn about(&self, logs: &Path) -> IpcResult<About> {
        let session = self.session()?;
        let server_version = match self.client().await {
            Ok(client) => client.server_version().await.ok(),
            Err(_) => None,
        };
        Ok(About {
            app_version: crate::VERSION.to_owned(),
            server_version,
            server: session.map(|s| s.server),
            log_folder: logs.display().to_string(),
        })
    }

    /// The text "Copy diagnostic info" puts on the clipboard.
    pub async fn diagnostics(&self, logs: &Path) -> IpcResult<String> {
        let about = self.about(logs).await?;
        let status = self.status().await?;
        let session = self.session()?;
        let problems = self.with_reader(|c| c.problems()).await.unwrap_or_default();
        let mut out = vec![
            format!("Fyncall Desk {}", about.app_version),
            format!("OS: {}", os_name()),
            match (&about.server, &about.server_version) {
                (Some(s), Some(v)) => format!("Server: {s} (fyncall-server {v})"),
                (Some(s), None) => format!("Server: {s} (not reachable now)"),
                _ => "Server: not signed in".to_owned(),
            },
        ];
        if let Some(s) = &session {
            out.push(format!(
                "Signed in as: {} ({:?}){}; sign-in kept {}",
                s.agent.email,
                s.agent.role,
                if s.demo { ", demo" } else { "" },
                if s.token_in_keyring {
                    "in the OS keyring"
                } else {
                    "in a private file"
                }
            ));
        }
        out.push(format!(
            "Sync: {:?}; last sync {}; {} change(s) waiting; {} problem(s); clock offset {} ms",
            status.connection,
            status
                .last_sync_at
                .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339()),
            status.pending,
            status.problems,
            status.clock_offset_ms
        ));
        if let Some(e) = &status.error {
            out.push(format!("Last sync error: {e}"));
        }
        for p in problems.iter().rev().take(5) {
            out.push(format!(
                "Refused change ({}): {} — {}",
                p.rejected_at.to_rfc3339(),
                p.summary,
                p.message
            ));
        }
        out.push(format!("Logs: {}", about.log_folder));
        Ok(out.join("\n"))
    }
}
