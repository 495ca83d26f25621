// Marks on the webview's own timeline, for measuring where a click's time
// goes (tests/scale.rs reads them): only the latest of each name is kept,
// so a day of refreshes does not pile them up.

/** Marks `name` now, replacing its previous mark. */
export function mark(name: string): void {
  if (typeof performance === 'undefined' || !performance.mark) return;
  performance.clearMarks(name);
  performance.mark(name);
}
