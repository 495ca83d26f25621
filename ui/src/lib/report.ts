// Small helpers of the Reports page: groupings, dates as the report takes
// them (YYYY-MM-DD), rates as percentages.
import type { Compliance } from '../generated/Compliance';
import type { GroupBy } from '../generated/GroupBy';

export const GROUPINGS: [GroupBy, string][] = [
  ['day', 'Day'], ['week', 'Week'], ['month', 'Month'],
  ['agent', 'Agent'], ['priority', 'Priority'], ['category', 'Category'],
];

export function timeGrouping(g: GroupBy): boolean {
  return g === 'day' || g === 'week' || g === 'month';
}

/** Today's date on this computer, YYYY-MM-DD. */
export function today(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** `date` plus `days` (calendar days, no time zone involved). */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return date;
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function daysBefore(date: string, days: number): string {
  return addDays(date, -days);
}

/** The rate in percent for a chart, null when nothing counted (a gap, never 0). */
export function compliancePercent(c: Compliance): number | null {
  return c.rate === null ? null : Math.round(c.rate * 1000) / 10;
}
