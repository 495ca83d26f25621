// Countdown arithmetic for SLA timers, on the server's clock.
import type { Timer } from '../generated/Timer';
import type { TicketRow } from '../generated/TicketRow';

/** "12m 05s", "2h 03m", "3d 4h" for a number of seconds (sign ignored). */
export function span(seconds: number): string {
  const s = Math.abs(Math.trunc(seconds));
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** Seconds left until `due` at `serverNowMs` (negative once passed). */
export function secondsLeft(due: string, serverNowMs: number): number {
  return Math.floor((Date.parse(due) - serverNowMs) / 1000);
}

export type Shown = { state: Timer['state']; text: string };

/**
 * A timer as shown at `serverNowMs`. Running timers count down live and
 * change state at the moments the rules gave them (`at_risk_at`, `due_at`);
 * stopped and paused ones are as the cache computed them.
 */
export function showTimer(t: Timer, serverNowMs: number): Shown {
  if (t.state === 'paused') return { state: 'paused', text: `paused, ${span(t.remaining_seconds)} left` };
  if (t.state === 'met') return { state: 'met', text: 'met' };
  if (t.state === 'missed') return { state: 'missed', text: 'missed' };
  if (!t.due_at) return { state: t.state, text: '' };
  const left = t.hours === 'business_hours' ? businessLeft(t, serverNowMs) : secondsLeft(t.due_at, serverNowMs);
  const stopped =
    t.closed_until !== null && serverNowMs < Date.parse(t.closed_until) ? `paused until ${weekdayTime(t.closed_until)}, ` : '';
  if (serverNowMs > Date.parse(t.due_at)) return { state: 'breached', text: `${stopped}breached ${span(left)} ago` };
  const atRisk = t.at_risk_at !== null && serverNowMs >= Date.parse(t.at_risk_at);
  return { state: atRisk ? 'at_risk' : 'on_track', text: `${stopped}${span(left)} left` };
}

/**
 * Counted seconds left of a business-hours timer at `serverNowMs`: while the
 * calendar is open it runs down to the close (`open_until`, where
 * `left_at_close_seconds` are left); while closed it stands still.
 */
export function businessLeft(t: Timer, serverNowMs: number): number {
  if (t.open_until !== null && t.left_at_close_seconds !== null) {
    const close = Date.parse(t.open_until);
    return t.left_at_close_seconds + Math.floor((close - Math.min(serverNowMs, close)) / 1000);
  }
  return t.remaining_seconds;
}

// Made once: `toLocaleString` with options builds a new formatter each call,
// which a list of 100 rows (two dates each) paid 200 times per render.
const WEEKDAY_TIME = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit', hour12: false });
const SHORT_TIME = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** "Mon 09:00": a moment within the coming week, in the agent's zone. */
export function weekdayTime(iso: string): string {
  return WEEKDAY_TIME.format(new Date(iso));
}

const DAY_MONTH = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const DAY_MONTH_YEAR = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const EXACT = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });

/**
 * A moment as a list shows it, short enough for a narrow column: "just now",
 * "12m ago", "2h ago" within the day, "Mon 14:05" within the week, "6 Dec"
 * within the year, "6 Dec 2024" before; the exact moment is `exactTime`.
 */
export function listTime(iso: string | null, nowMs: number): string {
  if (!iso) return '—';
  const at = Date.parse(iso);
  const ago = (nowMs - at) / 1000;
  if (ago < 60) return 'just now';
  if (ago < 3600) return `${Math.floor(ago / 60)}m ago`;
  if (ago < 86400) return `${Math.floor(ago / 3600)}h ago`;
  if (ago < 6 * 86400) return weekdayTime(iso);
  if (new Date(at).getFullYear() === new Date(nowMs).getFullYear()) return DAY_MONTH.format(at);
  return DAY_MONTH_YEAR.format(at);
}

/** The exact moment, for a tooltip: "Monday, 7 December 2026 at 14:05:09". */
export function exactTime(iso: string | null): string {
  return iso ? EXACT.format(new Date(iso)) : '';
}

export function shortTime(iso: string | null): string {
  if (!iso) return '—';
  return SHORT_TIME.format(new Date(iso));
}

/** A ticket's SLA as one cell shows it: its running timer due first, else a
 * paused one, else what the indicator says. */
export function ticketTimer(r: TicketRow, serverNowMs: number): Shown {
  const timers = [r.sla.first_response, r.sla.resolution];
  const running = timers.filter((t) => t.due_at && (t.state === 'on_track' || t.state === 'at_risk' || t.state === 'breached'));
  running.sort((a, b) => Date.parse(a.due_at ?? '') - Date.parse(b.due_at ?? ''));
  if (running.length) return showTimer(running[0], serverNowMs);
  const paused = timers.find((t) => t.state === 'paused');
  if (paused) return showTimer(paused, serverNowMs);
  return { state: r.sla.indicator, text: r.sla.indicator === 'breached' ? 'missed' : '—' };
}
