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
  const left = secondsLeft(t.due_at, serverNowMs);
  if (serverNowMs > Date.parse(t.due_at)) return { state: 'breached', text: `breached ${span(left)} ago` };
  const atRisk = t.at_risk_at !== null && serverNowMs >= Date.parse(t.at_risk_at);
  return { state: atRisk ? 'at_risk' : 'on_track', text: `${span(left)} left` };
}

export function shortTime(iso: string | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
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
