// What the ticket list and the inbox share: loading the next page as the end
// of a list comes into sight, and moving through rows with the keyboard.

/** Calls `more` when `end` comes within 400 px of sight; returns the stop. */
export function whenSeen(end: HTMLElement | undefined, more: () => void): (() => void) | undefined {
  if (!end || typeof IntersectionObserver === 'undefined') return undefined;
  const watch = new IntersectionObserver((seen) => {
    if (seen.some((e) => e.isIntersecting)) more();
  }, { rootMargin: '400px' });
  watch.observe(end);
  return () => watch.disconnect();
}

/** j/k or ↓/↑ move the selection, Enter opens it; typing in a field, a button
 * and an open panel (a date range, the columns) are left alone.
 * Returns the new selection. */
export function listKey(e: KeyboardEvent, selected: number, count: number, open: (i: number) => void): number {
  const t = e.target as HTMLElement | null;
  if (t && (['INPUT', 'TEXTAREA', 'SELECT', 'BUTTON'].includes(t.tagName) || t.closest?.('.popover'))) return selected;
  if (e.key === 'j' || e.key === 'ArrowDown') { e.preventDefault(); return Math.min(count - 1, selected + 1); }
  if (e.key === 'k' || e.key === 'ArrowUp') { e.preventDefault(); return Math.max(0, selected - 1); }
  if (e.key === 'Enter' && selected < count) open(selected);
  return selected;
}
