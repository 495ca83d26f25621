// The tag filter as an agent types it: "vip, refund -spam" means any of
// vip or refund, and none of spam. Words are cleaned by the cache (the
// domain's rules); this only splits them.
import type { TagFilter } from '../generated/TagFilter';

/** Words separated by commas or spaces; a leading `-` or `!` means "none of". */
export function parseTagFilter(text: string): TagFilter {
  const any_of: string[] = [];
  const none_of: string[] = [];
  for (const raw of text.split(/[\s,]+/)) {
    const word = raw.trim().replace(/^tag:/i, '');
    if (!word) continue;
    if (/^[-!]/.test(word)) {
      if (word.length > 1) none_of.push(word.slice(1));
    } else {
      any_of.push(word);
    }
  }
  return { any_of, none_of };
}

/** What a palette entry names after `tag:` (empty when it names none). */
export function paletteTag(text: string): string | null {
  const m = /^tag:\s*(\S*)$/i.exec(text.trim());
  return m ? m[1] : null;
}
