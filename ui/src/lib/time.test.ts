import { describe, expect, it } from 'vitest';
import { showTimer, span } from './time';
import type { Timer } from '../generated/Timer';

const timer = (t: Partial<Timer>): Timer => ({
  state: 'on_track',
  target_minutes: 60,
  due_at: '2026-03-02T10:00:00.000Z',
  at_risk_at: '2026-03-02T09:45:00.000Z',
  remaining_seconds: 0,
  stopped_at: null,
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
});
