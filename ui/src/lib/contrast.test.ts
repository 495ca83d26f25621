// The palette's contrast, pair by pair, in both themes (WCAG 2.1 AA, 4.5:1
// for text): every text colour on every background a text can sit on,
// the selected, hovered and focused rows' (--sel) among them, and the
// strong pills' text on their colours. axe-core in the real window audits
// what is on screen; this checks the states no screen happens to show.
import { describe, expect, it } from 'vitest';
import css from '../app.css?raw';

function block(selector: string): Record<string, string> {
  const start = css.indexOf(selector);
  expect(start, `${selector} in app.css`).toBeGreaterThanOrEqual(0);
  const body = css.slice(css.indexOf('{', start) + 1, css.indexOf('}', start));
  return Object.fromEntries([...body.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6})/g)].map((m) => [m[1], m[2]]));
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

const light = block(':root {');
const dark = { ...light, ...block(':root[data-theme=dark] {') };
const darkBySystem = { ...light, ...block(':root:not([data-theme=light]) {') };

describe('the palette reads at 4.5:1 or more', () => {
  it('computes contrast as WCAG does', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
    // The pair axe found on a selected row.
    expect(contrast('#047857', '#dbeafe')).toBeLessThan(4.5);
  });

  it('the system dark theme is the chosen dark theme', () => {
    expect(darkBySystem).toEqual(dark);
  });

  for (const [theme, v] of [['light', light], ['dark', dark]] as const) {
    it(`${theme}: every text colour on every background, the selected row's included`, () => {
      const low: string[] = [];
      for (const text of ['fg', 'muted', 'accent', 'ok', 'warn', 'bad']) {
        for (const bg of ['bg', 'side', 'sel']) {
          const ratio = contrast(v[text], v[bg]);
          if (ratio < 4.5) low.push(`--${text} ${v[text]} on --${bg} ${v[bg]}: ${ratio.toFixed(2)}`);
        }
      }
      // Pills and primary buttons: --on-strong on their colour.
      for (const strong of ['accent', 'warn', 'bad']) {
        const ratio = contrast(v['on-strong'], v[strong]);
        if (ratio < 4.5) low.push(`--on-strong on --${strong}: ${ratio.toFixed(2)}`);
      }
      expect(low).toEqual([]);
    });
  }
});
