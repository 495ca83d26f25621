//! The words every window shows for the rules' values (a status, a
//! priority, a timer's state, a view's title), written once here. The app
//! reads them from `ui/src/generated/words.ts`, made from this module by
//! the `ts` feature's export (as the types are); the CLI calls the same
//! functions.

use crate::inbox::InboxView;
use crate::sla::TimerState;
use crate::ticket::{Priority, Status};
use crate::views::View;

impl TimerState {
    pub const ALL: [TimerState; 6] = [
        TimerState::OnTrack,
        TimerState::AtRisk,
        TimerState::Breached,
        TimerState::Paused,
        TimerState::Met,
        TimerState::Missed,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerState::OnTrack => "on_track",
            TimerState::AtRisk => "at_risk",
            TimerState::Breached => "breached",
            TimerState::Paused => "paused",
            TimerState::Met => "met",
            TimerState::Missed => "missed",
        }
    }

    /// How a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            TimerState::OnTrack => "on track",
            TimerState::AtRisk => "at risk",
            TimerState::Breached => "breached",
            TimerState::Paused => "paused",
            TimerState::Met => "met",
            TimerState::Missed => "missed",
        }
    }
}

impl Priority {
    /// How a person reads it.
    pub fn label(self) -> &'static str {
        self.as_str()
    }
}

/// Priorities as pickers list them: urgent first.
pub fn priorities_by_rank() -> Vec<Priority> {
    let mut all = Priority::ALL.to_vec();
    all.sort_by_key(|p| p.rank());
    all
}

/// `ui/src/generated/words.ts`: each value's words, and the order pickers list them in.
pub fn typescript() -> String {
    fn record<T: Copy>(
        name: &str,
        ty: &str,
        all: &[T],
        key: impl Fn(T) -> &'static str,
        words: impl Fn(T) -> &'static str,
    ) -> String {
        let pairs: Vec<String> = all
            .iter()
            .map(|v| format!("  {}: {:?},", key(*v), words(*v)))
            .collect();
        let order: Vec<String> = all.iter().map(|v| format!("{:?}", key(*v))).collect();
        format!(
            "export const {name}_WORDS: Record<{ty}, string> = {{\n{}\n}};\nexport const {name}_ORDER: {ty}[] = [{}];\n",
            pairs.join("\n"),
            order.join(", ")
        )
    }
    let mut out = String::from(
        "// Made from the domain's words (crates/domain/src/words.rs) by `cargo test --features ts`. Do not edit.\n\
         import type { Status } from './Status';\n\
         import type { Priority } from './Priority';\n\
         import type { TimerState } from './TimerState';\n\
         import type { View } from './View';\n\
         import type { InboxView } from './InboxView';\n\n",
    );
    out += &record(
        "STATUS",
        "Status",
        &Status::ALL,
        Status::as_str,
        Status::label,
    );
    out += &record(
        "PRIORITY",
        "Priority",
        &priorities_by_rank(),
        Priority::as_str,
        Priority::label,
    );
    out += &record(
        "TIMER_STATE",
        "TimerState",
        &TimerState::ALL,
        TimerState::as_str,
        TimerState::label,
    );
    out += &record("VIEW", "View", &View::ALL, View::as_str, View::title);
    out += &record(
        "INBOX_VIEW",
        "InboxView",
        &InboxView::ALL,
        InboxView::as_str,
        InboxView::title,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_has_its_words_and_the_wire_name_of_serde() {
        for s in TimerState::ALL {
            assert_eq!(
                serde_json::to_value(s).expect("json"),
                serde_json::json!(s.as_str())
            );
        }
        assert_eq!(
            priorities_by_rank(),
            [
                Priority::Urgent,
                Priority::High,
                Priority::Normal,
                Priority::Low
            ]
        );
        let ts = typescript();
        assert!(ts.contains("  waiting_on_customer: \"waiting on customer\","));
        assert!(ts.contains("  sla_at_risk: \"SLA At Risk\","));
        assert!(ts.contains(
            "export const PRIORITY_ORDER: Priority[] = [\"urgent\", \"high\", \"normal\", \"low\"];"
        ));
    }

    /// Writes `words.ts` beside the generated types (as ts-rs writes them).
    #[cfg(feature = "ts")]
    #[test]
    fn export_bindings_words() {
        // Cargo makes the configured folder absolute (`relative = true`).
        let dir = std::env::var("TS_RS_EXPORT_DIR").map_or_else(
            |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/generated"),
            std::path::PathBuf::from,
        );
        std::fs::create_dir_all(&dir).expect("the export folder");
        let path = dir.join("words.ts");
        let text = typescript();
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).expect("words.ts written");
        }
    }
}
