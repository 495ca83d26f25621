// Helpers of the admin console: weekdays, a starting week, categories
// renamed or retired, holidays pasted one a line, the time zones offered.
import { PRIORITY_ORDER } from '../generated/words';
import type { OpenHours } from '../generated/OpenHours';
import type { Priority } from '../generated/Priority';
import type { TeamSettings } from '../generated/TeamSettings';

export const PRIORITIES: Priority[] = PRIORITY_ORDER;

export const DAYS: [string, string][] = [
  ['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'],
  ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday'],
];

/** A week to start from: Monday to Friday, 09:00–17:00. */
export const OFFICE_HOURS: Record<string, OpenHours[]> = Object.fromEntries(
  DAYS.map(([d]) => [d, ['sat', 'sun'].includes(d) ? [] : [{ from: '09:00', to: '17:00' }]]),
);

/** Every IANA zone this computer knows (the server checks the one chosen). */
export function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  return intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : ['UTC'];
}

/** `name` leaves the pickers; tickets keep it. */
export function retire(s: TeamSettings, name: string): Pick<TeamSettings, 'categories' | 'retired_categories'> {
  return {
    categories: s.categories.filter((c) => c !== name),
    retired_categories: s.retired_categories.includes(name) ? s.retired_categories : [...s.retired_categories, name],
  };
}

/** `from` offered as `to` from now on, in the same place; tickets filed under `from` keep it, retired. */
export function rename(s: TeamSettings, from: string, to: string): Pick<TeamSettings, 'categories' | 'retired_categories'> {
  const name = to.trim();
  if (!name || name === from) return { categories: s.categories, retired_categories: s.retired_categories };
  return {
    categories: s.categories.map((c) => (c === from ? name : c)),
    retired_categories: [...s.retired_categories.filter((c) => c !== name), from],
  };
}

/** Dates pasted one a line: the valid ones, and the lines that are not dates. */
export function importHolidays(text: string): { dates: string[]; bad: string[] } {
  const dates: string[] = [];
  const bad: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const d = new Date(`${line}T00:00:00Z`);
    if (/^\d{4}-\d{2}-\d{2}$/.test(line) && !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === line) dates.push(line);
    else bad.push(line);
  }
  return { dates, bad };
}
