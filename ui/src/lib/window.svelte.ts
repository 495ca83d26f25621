// Lists are windowed: only the rows in sight in the scrolling pane (`.main`),
// and a few either side, are in the page; spacers before and after keep the
// list's height, so the scrollbar and a kept scroll position stay true.
//
// A list opened again knows its row height and its pane's height from the
// last time (they are kept per kind of row), so even its first frame draws
// only the rows in sight: a 100-row page is ~35 rows of DOM, not 100.

/** Rows drawn beyond each edge of the pane, so a scroll finds them there. */
const OVERSCAN = 12;
/** Rows drawn below the pane in a list's first frame: the rows in sight
 * come first (a view click draws only those), the rest of the overscan
 * right after that frame is painted, before any scroll needs them. */
const FIRST_OVERSCAN = 2;
/** Rows drawn before any row of this kind was measured (a list's first
 * showing in this window): about a full pane, then measured and windowed. */
const UNMEASURED = 40;

/** Row height and pane height last seen, per kind of row. */
const seen = new Map<string, { row: number; pane: number }>();

/** Forgets every kept height (tests start from an unmeasured page). */
export function forgetHeights(): void {
  seen.clear();
}

export class Windowing {
  rowHeight = $state(0);
  #first = $state(0);
  #visible = $state(0);
  /** Rows drawn give no height (no layout): every row is drawn. */
  #blind = $state(false);
  /** Overscan rows below the pane now: FIRST_OVERSCAN until the first frame. */
  #extra = $state(FIRST_OVERSCAN);
  #growing = false;

  /** `list`: the list element; `rowSelector`: one of its rows; `head`: how far
   * below the list's top the first row starts (a table's header). */
  constructor(
    private list: () => HTMLElement | undefined,
    private rowSelector: string,
    private head: () => number = () => 0,
  ) {
    const known = seen.get(rowSelector);
    if (known) {
      this.rowHeight = known.row;
      this.#visible = Math.ceil(known.pane / known.row) + OVERSCAN;
    }
  }

  pane(): HTMLElement | null {
    return this.list()?.closest('.main') ?? null;
  }

  #top(): number {
    return (this.list()?.offsetTop ?? 0) + this.head();
  }

  /** Reads the row height and which rows the pane shows now. */
  measure(): void {
    const list = this.list();
    if (!list) return;
    const pane = this.pane();
    const row = list.querySelector(this.rowSelector) as HTMLElement | null;
    if (row && row.offsetHeight > 0) this.rowHeight = row.offsetHeight;
    if (!pane || this.rowHeight === 0 || pane.clientHeight === 0) {
      // Drawn rows with nothing to measure them against: draw them all.
      if (row) this.#blind = true;
      return;
    }
    seen.set(this.rowSelector, { row: this.rowHeight, pane: pane.clientHeight });
    this.#growAfterPaint();
    // The overscan above the first row in sight, as far as there are rows
    // above it: a list at its top draws the rows in sight and those below.
    const inSight = Math.max(0, Math.floor((pane.scrollTop - this.#top()) / this.rowHeight));
    this.#first = Math.max(0, inSight - OVERSCAN);
    this.#visible = inSight - this.#first + Math.ceil(pane.clientHeight / this.rowHeight) + OVERSCAN;
  }

  /** The whole overscan once this frame is painted (a timer set from the
   * next animation frame runs after that frame's paint). */
  #growAfterPaint(): void {
    if (this.#extra >= OVERSCAN || this.#growing) return;
    this.#growing = true;
    const frame = globalThis.requestAnimationFrame ?? ((f: () => void) => setTimeout(f, 16));
    frame(() => setTimeout(() => (this.#extra = OVERSCAN), 0));
  }

  /** Follows the pane's scrolling and the window's size; returns the stop. */
  listen(): (() => void) | undefined {
    const pane = this.pane();
    if (!pane) return undefined;
    const onScroll = () => {
      this.#extra = OVERSCAN;
      this.measure();
    };
    pane.addEventListener('scroll', onScroll, { passive: true });
    window.addEventListener('resize', onScroll);
    return () => {
      pane.removeEventListener('scroll', onScroll);
      window.removeEventListener('resize', onScroll);
    };
  }

  /** The rows to draw of `count`: [start, end). Before any row was ever
   * measured, the first `UNMEASURED`; where rows have no height at all
   * (nothing laid out), every row. */
  range(count: number): { start: number; end: number } {
    if (this.#blind) return { start: 0, end: count };
    if (this.rowHeight === 0 || this.#visible === 0) return { start: 0, end: Math.min(count, UNMEASURED) };
    // The overscan not yet drawn below the pane (a list's first frame).
    const visible = this.#visible - (OVERSCAN - this.#extra);
    if (count <= visible) return { start: 0, end: count };
    const start = Math.min(this.#first, Math.max(0, count - visible));
    return { start, end: Math.min(count, start + visible) };
  }

  /** Scrolls the pane so row `i` is in sight (a keyboard move). */
  reveal(i: number, count: number): void {
    const pane = this.pane();
    if (!pane || this.rowHeight === 0 || i >= count) return;
    const top = this.#top() + i * this.rowHeight;
    if (top < pane.scrollTop) pane.scrollTop = top;
    else if (top + this.rowHeight > pane.scrollTop + pane.clientHeight) pane.scrollTop = top + this.rowHeight - pane.clientHeight;
  }
}
