import { describe, expect, it } from 'vitest';
import { custom, customDays, rangeBounds, rangeLabel } from './range';

describe('date ranges of a list', () => {
  const now = new Date(2026, 11, 7, 14, 5);
  it('says any time when nothing is chosen, never a date', () => {
    expect(rangeLabel('')).toBe('any time');
    expect(rangeBounds('', now)).toEqual([null, null]);
    expect(custom('', '')).toBe('');
  });
  it('counts presets back from today in whole local days', () => {
    expect(rangeLabel('7d')).toBe('last 7 days');
    expect(rangeBounds('today', now)).toEqual([new Date(2026, 11, 7).toISOString(), null]);
    expect(rangeBounds('7d', now)).toEqual([new Date(2026, 11, 1).toISOString(), null]);
    expect(rangeBounds('30d', now)).toEqual([new Date(2026, 10, 8).toISOString(), null]);
  });
  it('keeps a custom range whole: its last day to the last moment', () => {
    const r = custom('2026-11-02', '2026-11-05');
    expect(customDays(r)).toEqual({ from: '2026-11-02', to: '2026-11-05' });
    expect(rangeBounds(r, now)).toEqual([
      new Date(2026, 10, 2).toISOString(),
      new Date(2026, 10, 5, 23, 59, 59, 999).toISOString(),
    ]);
    expect(rangeLabel(r)).toContain('–');
    expect(rangeLabel(custom('2026-11-02', ''))).toMatch(/^since /);
    expect(rangeLabel(custom('', '2026-11-05'))).toMatch(/^until /);
    expect(rangeBounds(custom('', '2026-11-05'), now)[0]).toBeNull();
  });
});
