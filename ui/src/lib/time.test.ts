import { describe, expect, it } from 'vitest';
import { exactTime, listTime, shortTime, showTimer, span, weekdayTime } from './time';
import type { Timer } from '../generated/Timer';

const timer = (t: Partial<Timer>): Timer => ({
  state: 'on_track',
  target_minutes: 60,
  due_at: '2026-03-02T10:00:00.000Z',
  at_risk_at: '2026-03-02T09:45:00.000Z',
  remaining_seconds: 0,
  stopped_at: null,
  hours: 'always',
  open_until: null,
  closed_until: null,
  left_at_close_seconds: null,
  ...t,
});

describe('countdowns', () => {
  it('formats spans', () => {
    expect(span(65)).toBe('1m 05s');
    expect(span(-3725)).toBe('1h 02m');
    expect(span(90061)).toBe('1d 1h');
  });

  it('counts down, turns at risk at the threshold and breached after the due time', () => {
    const due = Date.parse('2026-03-02T10:00:00.000Z');
    expect(showTimer(timer({}), due - 20 * 60_000)).toEqual({ state: 'on_track', text: '20m 00s left' });
    expect(showTimer(timer({}), due - 15 * 60_000).state).toBe('at_risk');
    expect(showTimer(timer({}), due).state).toBe('at_risk');
    expect(showTimer(timer({}), due + 1)).toEqual({ state: 'breached', text: 'breached 0m 01s ago' });
  });

  it('shows paused and stopped timers as they are', () => {
    expect(showTimer(timer({ state: 'paused', due_at: null, at_risk_at: null, remaining_seconds: 600 }), 0).text).toBe('paused, 10m 00s left');
    expect(showTimer(timer({ state: 'met' }), 0).text).toBe('met');
  });

  it('runs a business-hours countdown only while open and says until when it stands still', () => {
    // Friday 17:00, open until 18:00 with 2.5 h left at the close; due Monday 11:30.
    const t = timer({
      hours: 'business_hours',
      due_at: '2026-11-30T11:30:00.000Z',
      at_risk_at: '2026-11-30T10:30:00.000Z',
      remaining_seconds: 210 * 60,
      open_until: '2026-11-27T18:00:00.000Z',
      left_at_close_seconds: 150 * 60,
    });
    expect(showTimer(t, Date.parse('2026-11-27T17:00:00.000Z'))).toEqual({ state: 'on_track', text: '3h 30m left' });
    expect(showTimer(t, Date.parse('2026-11-27T17:59:00.000Z')).text).toBe('2h 31m left');
    // Past the close it stops at what was left then.
    expect(showTimer(t, Date.parse('2026-11-28T12:00:00.000Z')).text).toBe('2h 30m left');
    // Read while closed: it stands still until the calendar opens.
    const closed = timer({ ...t, open_until: null, left_at_close_seconds: null, remaining_seconds: 150 * 60, closed_until: '2026-11-30T09:00:00.000Z' });
    const shown = showTimer(closed, Date.parse('2026-11-28T12:00:00.000Z'));
    expect(shown.state).toBe('on_track');
    expect(shown.text).toMatch(/^paused until Mon.*09:00, 2h 30m left$/);
    expect(showTimer(closed, Date.parse('2026-11-30T10:45:00.000Z')).state).toBe('at_risk');
  });
});

describe('dates in lists', () => {
  it('read as the agent\'s locale writes them, from one formatter made once', () => {
    const iso = '2026-03-02T09:05:00Z';
    expect(shortTime(iso)).toBe(new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }));
    expect(weekdayTime(iso)).toBe(
      new Date(iso).toLocaleString(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit', hour12: false }),
    );
    expect(shortTime(null)).toBe('—');
  });
});

describe('listTime', () => {
  const now = Date.parse('2026-12-07T14:05:00.000Z');
  const before = (seconds: number) => new Date(now - seconds * 1000).toISOString();
  it('says how long ago within the day, the weekday within the week, the date after', () => {
    expect(listTime(null, now)).toBe('—');
    expect(listTime(before(20), now)).toBe('just now');
    expect(listTime(before(-30), now)).toBe('just now');
    expect(listTime(before(12 * 60 + 5), now)).toBe('12m ago');
    expect(listTime(before(2 * 3600 + 59), now)).toBe('2h ago');
    expect(listTime(before(23 * 3600), now)).toBe('23h ago');
    const twoDays = before(2 * 86400);
    expect(listTime(twoDays, now)).toBe(weekdayTime(twoDays));
    const month = '2026-11-06T09:00:00.000Z';
    expect(listTime(month, now)).toBe(new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' }).format(Date.parse(month)));
    const lastYear = '2025-12-06T09:00:00.000Z';
    expect(listTime(lastYear, now)).toContain('2025');
    // Never longer than a narrow column.
    for (const iso of [before(30), before(3000), before(30000), twoDays, month, lastYear]) {
      expect(listTime(iso, now).length).toBeLessThanOrEqual(12);
    }
    expect(exactTime(month)).toContain('2026');
    expect(exactTime(null)).toBe('');
  });
});
