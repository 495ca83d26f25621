// Where the agent is, and where they have been: a history of places with
// Back and Forward, each place remembering how it was left (a list's
// filters, how many rows were shown, the scroll position), so coming back
// lands on the same row.
import type { InboxView } from '../generated/InboxView';
import type { View } from '../generated/View';

export type Route =
  | { kind: 'view'; view: View; tag?: string }
  | { kind: 'inbox'; view: InboxView }
  | { kind: 'ticket'; id: string }
  | { kind: 'conversation'; id: string }
  | { kind: 'problems' }
  | { kind: 'mentions' }
  | { kind: 'settings' }
  | { kind: 'reports' }
  | { kind: 'admin' };

/** What a place keeps while the agent is elsewhere. */
export class Memo {
  /** The scroll position of the main pane when it was left. */
  scroll = $state(0);
  /** Rows a list showed, so coming back reads as many again. */
  shown = $state(0);
  /** A list's filters and search, by name (replaced whole, never edited in place). */
  filters = $state<Record<string, string>>({});
}

interface Entry {
  route: Route;
  memo: Memo;
}

function sameRoute(a: Route, b: Route): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function entry(route: Route): Entry {
  return { route, memo: new Memo() };
}

export class Nav {
  #entries = $state.raw<Entry[]>([]);
  #at = $state(0);
  /** Bumped on every move, so a place can tell it was (re)entered. */
  moves = $state(0);

  constructor(start: Route) {
    this.#entries = [entry(start)];
  }

  get route(): Route {
    return this.#entries[this.#at].route;
  }

  /** The current place's memo (a live object: writes to it are kept). */
  get memo(): Memo {
    return this.#entries[this.#at].memo;
  }

  get canBack(): boolean {
    return this.#at > 0;
  }

  get canForward(): boolean {
    return this.#at < this.#entries.length - 1;
  }

  /** Goes to `route`, dropping the places ahead; staying put is no move. */
  go(route: Route): void {
    if (sameRoute(route, this.route)) return;
    this.#entries = [...this.#entries.slice(0, this.#at + 1), entry(route)];
    this.#at = this.#entries.length - 1;
    this.moves++;
  }

  /** Replaces the current place (a sign-in, a deep link at start). */
  reset(route: Route): void {
    this.#entries = [entry(route)];
    this.#at = 0;
    this.moves++;
  }

  back(): boolean {
    if (!this.canBack) return false;
    this.#at--;
    this.moves++;
    return true;
  }

  forward(): boolean {
    if (!this.canForward) return false;
    this.#at++;
    this.moves++;
    return true;
  }

  /** The place Back would return to (for its label). */
  get previous(): Route | null {
    return this.#at > 0 ? this.#entries[this.#at - 1].route : null;
  }
}
