import { describe, expect, it } from 'vitest';
import { paletteTag, parseTagFilter } from './tags';

describe('the tag filter as typed', () => {
  it('splits any-of and none-of words', () => {
    expect(parseTagFilter('vip, refund -spam !late')).toEqual({ any_of: ['vip', 'refund'], none_of: ['spam', 'late'] });
    expect(parseTagFilter('  ')).toEqual({ any_of: [], none_of: [] });
    expect(parseTagFilter('tag:vip -')).toEqual({ any_of: ['vip'], none_of: [] });
  });
  it('reads a palette entry', () => {
    expect(paletteTag('tag:vip')).toBe('vip');
    expect(paletteTag('TAG: ')).toBe('');
    expect(paletteTag('vip')).toBeNull();
  });
});
