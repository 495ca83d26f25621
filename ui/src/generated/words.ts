// Made from the domain's words (crates/domain/src/words.rs) by `cargo test --features ts`. Do not edit.
import type { Status } from './Status';
import type { Priority } from './Priority';
import type { TimerState } from './TimerState';
import type { View } from './View';
import type { InboxView } from './InboxView';

export const STATUS_WORDS: Record<Status, string> = {
  open: "open",
  in_progress: "in progress",
  waiting_on_customer: "waiting on customer",
  resolved: "resolved",
  closed: "closed",
};
export const STATUS_ORDER: Status[] = ["open", "in_progress", "waiting_on_customer", "resolved", "closed"];
export const PRIORITY_WORDS: Record<Priority, string> = {
  urgent: "urgent",
  high: "high",
  normal: "normal",
  low: "low",
};
export const PRIORITY_ORDER: Priority[] = ["urgent", "high", "normal", "low"];
export const TIMER_STATE_WORDS: Record<TimerState, string> = {
  on_track: "on track",
  at_risk: "at risk",
  breached: "breached",
  paused: "paused",
  met: "met",
  missed: "missed",
};
export const TIMER_STATE_ORDER: TimerState[] = ["on_track", "at_risk", "breached", "paused", "met", "missed"];
export const VIEW_WORDS: Record<View, string> = {
  all: "All Tickets",
  mine: "My Tickets",
  sla_at_risk: "SLA At Risk",
  pending: "Pending",
  ai_escalated: "AI Escalated",
};
export const VIEW_ORDER: View[] = ["all", "mine", "sla_at_risk", "pending", "ai_escalated"];
export const INBOX_VIEW_WORDS: Record<InboxView, string> = {
  unassigned: "Unassigned",
  mine: "Mine",
  all: "All conversations",
};
export const INBOX_VIEW_ORDER: InboxView[] = ["unassigned", "mine", "all"];
