// Long lists are windowed: only the rows near the visible part of the
// scrolling pane (`.main`) are in the page; spacers before and after keep
// the list's height, so the scrollbar and a kept scroll position stay true.

/** Lists shorter than this are drawn whole. */
export const WINDOW_FROM = 200;
const OVERSCAN = 30;

export class Windowing {
  rowHeight = $state(0);
  #first = $state(0);
  #visible = $state(80);

  /** `list`: the list element; `rowSelector`: one of its rows; `head`: how far
   * below the list's top the first row starts (a table's header). */
  constructor(
    private list: () => HTMLElement | undefined,
    private rowSelector: string,
    private head: () => number = () => 0,
  ) {}

  pane(): HTMLElement | null {
    return this.list()?.closest('.main') ?? null;
  }

  #top(): number {
    return (this.list()?.offsetTop ?? 0) + this.head();
  }

  /** Reads the row height and which rows the pane shows now. */
  measure(): void {
    const pane = this.pane();
    const list = this.list();
    if (!pane || !list) return;
    const row = list.querySelector(this.rowSelector) as HTMLElement | null;
    if (row && row.offsetHeight > 0) this.rowHeight = row.offsetHeight;
    if (this.rowHeight === 0) return;
    this.#first = Math.max(0, Math.floor((pane.scrollTop - this.#top()) / this.rowHeight) - OVERSCAN);
    this.#visible = Math.ceil(pane.clientHeight / this.rowHeight) + 2 * OVERSCAN;
  }

  /** Follows the pane's scrolling and the window's size; returns the stop. */
  listen(): (() => void) | undefined {
    const pane = this.pane();
    if (!pane) return undefined;
    const onScroll = () => this.measure();
    pane.addEventListener('scroll', onScroll, { passive: true });
    window.addEventListener('resize', onScroll);
    return () => {
      pane.removeEventListener('scroll', onScroll);
      window.removeEventListener('resize', onScroll);
    };
  }

  /** The rows to draw of `count`: [start, end). */
  range(count: number): { start: number; end: number } {
    if (count <= WINDOW_FROM || this.rowHeight === 0) return { start: 0, end: count };
    const start = Math.min(this.#first, Math.max(0, count - this.#visible));
    return { start, end: Math.min(count, start + this.#visible) };
  }

  /** Scrolls the pane so row `i` is in sight (a keyboard move). */
  reveal(i: number, count: number): void {
    const pane = this.pane();
    if (!pane || this.rowHeight === 0 || count <= WINDOW_FROM) return;
    const top = this.#top() + i * this.rowHeight;
    if (top < pane.scrollTop) pane.scrollTop = top;
    else if (top + this.rowHeight > pane.scrollTop + pane.clientHeight) pane.scrollTop = top + this.rowHeight - pane.clientHeight;
  }
}
