import { describe, expect, it } from 'vitest';
import { DEFAULT, decode, encode, move } from './columns';

describe('columns an agent chooses', () => {
  it('shows every optional column until the agent chooses', () => {
    expect(decode(undefined)).toEqual(DEFAULT);
    expect(decode('')).toEqual(DEFAULT);
  });
  it('keeps order and what is hidden through a round trip', () => {
    const c = move(move(DEFAULT, 2, -1), 1, -1).map((x) => (x.id === 'category' ? { ...x, shown: false } : x));
    expect(c.map((x) => x.id)).toEqual(['updated', 'category', 'created']);
    expect(encode(c)).toBe('updated,created|category');
    expect(decode(encode(c))).toEqual([
      { id: 'updated', shown: true }, { id: 'created', shown: true }, { id: 'category', shown: false },
    ]);
  });
  it('ignores what it does not know and adds what is missing', () => {
    expect(decode('nonsense,created,created|').map((x) => x.id)).toEqual(['created', 'category', 'updated']);
  });
  it('does not move past either end', () => {
    expect(move(DEFAULT, 0, -1)).toBe(DEFAULT);
    expect(move(DEFAULT, 2, 1)).toBe(DEFAULT);
  });
});
