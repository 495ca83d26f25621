// The columns of a ticket list. Number, subject, status, priority, assignee
// and SLA are always there; category, created and updated are the agent's
// to show, hide and order, remembered per view (a local preference).

export type Optional = 'category' | 'created' | 'updated';
export const OPTIONAL: [Optional, string][] = [['category', 'Category'], ['created', 'Created'], ['updated', 'Updated']];
const KNOWN = new Set<string>(OPTIONAL.map(([c]) => c));

/** A choice: every optional column in the order shown, each shown or not. */
export type Choice = { id: Optional; shown: boolean }[];

export const DEFAULT: Choice = OPTIONAL.map(([id]) => ({ id, shown: true }));

export const preferenceKey = (view: string) => `columns.${view}`;

/** Kept as the shown ones in order, then `|` and the hidden ones: "updated,category|created". */
export function encode(c: Choice): string {
  const ids = (shown: boolean) => c.filter((x) => x.shown === shown).map((x) => x.id).join(',');
  return `${ids(true)}|${ids(false)}`;
}

/** A kept choice read back; anything unknown or missing falls back to the default for it. */
export function decode(kept: string | undefined | null): Choice {
  if (!kept) return DEFAULT;
  const [shown = '', hidden = ''] = kept.split('|');
  const seen = new Set<string>();
  const out: Choice = [];
  for (const [list, on] of [[shown, true], [hidden, false]] as const) {
    for (const id of list.split(',')) {
      if (KNOWN.has(id) && !seen.has(id)) {
        seen.add(id);
        out.push({ id: id as Optional, shown: on });
      }
    }
  }
  for (const d of DEFAULT) if (!seen.has(d.id)) out.push(d);
  return out;
}

/** `c` with column `i` moved by `by` places (-1 up, +1 down), kept in bounds. */
export function move(c: Choice, i: number, by: number): Choice {
  const j = i + by;
  if (j < 0 || j >= c.length) return c;
  const out = [...c];
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}
