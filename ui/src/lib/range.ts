// The date filters of a ticket list: "any time", a preset counted back from
// today, or two days the agent picked. Kept as one short string (in the
// list's memo, so Back restores it) and turned into the query's bounds at
// load time, so "last 7 days" always means the seven days before now.

export type Preset = 'today' | '7d' | '30d';
export const PRESETS: [Preset, string][] = [['today', 'today'], ['7d', 'last 7 days'], ['30d', 'last 30 days']];

/** A range as kept: '' (any time), a preset, or `custom:FROM:TO` with either day empty. */
export type Range = string;

export function custom(from: string, to: string): Range {
  return from || to ? `custom:${from}:${to}` : '';
}

/** The days of a custom range (both '' for any other). */
export function customDays(r: Range): { from: string; to: string } {
  if (!r.startsWith('custom:')) return { from: '', to: '' };
  const [, from = '', to = ''] = r.split(':');
  return { from, to };
}

const DAY = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const dayLabel = (day: string) => DAY.format(new Date(`${day}T00:00:00`));

/** What the control says: "any time", "last 7 days", "1 Dec – 6 Dec", "since 1 Dec". Never a bare date field. */
export function rangeLabel(r: Range): string {
  const preset = PRESETS.find(([p]) => p === r);
  if (preset) return preset[1];
  const { from, to } = customDays(r);
  if (from && to) return from === to ? dayLabel(from) : `${dayLabel(from)} – ${dayLabel(to)}`;
  if (from) return `since ${dayLabel(from)}`;
  if (to) return `until ${dayLabel(to)}`;
  return 'any time';
}

/** The first moment of a local day, as the query wants it. */
const dayStart = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).toISOString();
/** The last moment of a local day: a day picked as an end counts whole. */
const dayEnd = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate(), 23, 59, 59, 999).toISOString();
const local = (day: string) => new Date(`${day}T00:00:00`);

/** The query's bounds for `r` at `now`: [from, to], null where open. */
export function rangeBounds(r: Range, now: Date): [string | null, string | null] {
  const back = (days: number) => new Date(now.getFullYear(), now.getMonth(), now.getDate() - days);
  switch (r) {
    case 'today': return [dayStart(now), null];
    // Today and the six days before it: seven whole days.
    case '7d': return [dayStart(back(6)), null];
    case '30d': return [dayStart(back(29)), null];
  }
  const { from, to } = customDays(r);
  return [from ? dayStart(local(from)) : null, to ? dayEnd(local(to)) : null];
}
