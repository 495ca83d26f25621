//! Builds the app's Tauri context from the root `tauri.conf.json`, with the
//! capabilities in `src-tauri/capabilities/` and a permission per command.

fn main() {
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(&[
            "session",
            "sign_in",
            "sign_out",
            "sessions",
            "end_session",
            "end_other_sessions",
            "change_password",
            "status",
            "counts",
            "tickets",
            "ticket",
            "conversation",
            "inbox",
            "inbox_counts",
            "settings",
            "agents",
            "act",
            "check",
            "outbox",
            "problems",
            "retry_problem",
            "discard_problem",
            "sync_now",
            "take_link",
            "started",
            "heartbeat",
            "preferences",
            "set_preference",
            "admin_agents",
            "create_agent",
            "update_agent",
            "end_agent_sessions",
            "integration_tokens",
            "create_integration_token",
            "revoke_integration_token",
            "webhooks",
            "create_webhook",
            "update_webhook",
            "delete_webhook",
            "webhook_deliveries",
            "send_delivery_again",
            "retry_reply",
            "preview_settings",
            "save_settings",
            "sla_report",
            "export_sla_report",
            "about",
            "diagnostics",
        ]));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build failed: {e:#}");
    }
}
