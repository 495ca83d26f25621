import { describe, expect, it } from 'vitest';
import { mark } from './marks';

describe('mark', () => {
  it('keeps only the latest mark of a name', () => {
    mark('test:one');
    const first = performance.getEntriesByName('test:one', 'mark')[0].startTime;
    mark('test:one');
    const kept = performance.getEntriesByName('test:one', 'mark');
    expect(kept).toHaveLength(1);
    expect(kept[0].startTime).toBeGreaterThanOrEqual(first);
    mark('test:two');
    expect(performance.getEntriesByName('test:one', 'mark')).toHaveLength(1);
    expect(performance.getEntriesByName('test:two', 'mark')).toHaveLength(1);
  });
});
