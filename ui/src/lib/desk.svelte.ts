// The app's state in one place (Svelte 5 runes): the session, the team's
// agents, the sidebar's counts, the sync status, the team's presence, the
// clock, and the counter that says the cache changed. The App makes one and
// gives it to every component through the context; a component reads what
// it needs with `useDesk()` instead of being handed it prop by prop.
import { getContext, setContext } from 'svelte';
import { errorText, type Backend } from '../backend';
import type { Agent } from '../generated/Agent';
import type { Counts } from '../generated/Counts';
import type { Macro } from '../generated/Macro';
import type { TeamSettings } from '../generated/TeamSettings';
import type { InboxCounts } from '../generated/InboxCounts';
import type { PresenceEntry } from '../generated/PresenceEntry';
import type { SessionInfo } from '../generated/SessionInfo';
import type { StatusInfo } from '../generated/StatusInfo';

/** How often a first download's changes make the window read again, at most. */
export const DOWNLOAD_READS_MS = 500;

export class Desk {
  session = $state<SessionInfo | null>(null);
  agents = $state<Map<string, Agent>>(new Map());
  counts = $state<Counts | null>(null);
  inboxCounts = $state<InboxCounts | null>(null);
  /** The signed-in agent's unread mentions (the sidebar's Mentions count). */
  unreadMentions = $state<number | null>(null);
  status = $state<StatusInfo | null>(null);
  /** The team's presence, as the live stream last said (empty offline). */
  presence = $state<PresenceEntry[]>([]);
  /** Bumped on every change of the cache: what is shown reads again. */
  refresh = $state(0);
  /** The team's tags, most used first (suggestions); read when a tag box
   * first wants them ([`wantTags`]) and again after a change, never on a
   * view click or a ticket's opening (it reads every open ticket). */
  teamTags = $state<string[]>([]);
  /** Each list's column preference as last read or chosen (by preference
   * key), so a list opened again draws its columns at once. */
  columnPrefs = new Map<string, string | null>();
  #macros: Promise<Macro[]> | null = null;
  #settings: Promise<TeamSettings> | null = null;
  #tagsRead = false;
  localNow = $state(Date.now());
  error = $state('');
  /** A message the sync engine sends once; kept until dismissed. */
  notice = $state('');

  constructor(readonly backend: Backend) {}

  /** The server's clock now (the local clock and the measured offset). */
  get serverNow(): number {
    return this.localNow + (this.status?.clock_offset_ms ?? 0);
  }

  /** The signed-in agent (a stand-in while signed out: nothing acts then). */
  get me(): Agent {
    return this.session?.agent ?? { id: '', name: '', email: '', role: 'agent', active: false };
  }

  /** Everyone's presence but mine. */
  get others(): PresenceEntry[] {
    const me = this.session?.agent.id;
    return this.presence.filter((e) => e.agent_id !== me);
  }

  async reloadSide(): Promise<void> {
    try {
      [this.counts, this.inboxCounts, this.status] = await Promise.all([
        this.backend.counts(), this.backend.inboxCounts(), this.backend.status(),
      ]);
      this.unreadMentions = (await this.backend.mentions()).unread;
      this.agents = new Map((await this.backend.agents()).map((a) => [a.id, a]));
    } catch (e) {
      this.error = errorText(e);
    }
  }

  /** Follows the clock, the cache, the sync status and presence; returns the stop. */
  follow(onOpenTicket: (id: string) => void, onOpenConversation: (id: string) => void = () => {}): () => void {
    const tick = setInterval(() => (this.localNow = Date.now()), 1000);
    // Counts of SLA At Risk move with time.
    const side = setInterval(() => { if (this.session) this.reloadSide(); }, 15000);
    const stops: (() => void)[] = [];
    let stopped = false;
    // What is shown reads again on every change, except a first download's
    // transactions: those at most once per DOWNLOAD_READS_MS (the window's
    // reads and drawing share the cores the download needs), and at once
    // when the download ends.
    let lastRead = 0;
    let downloading = false;
    let later: ReturnType<typeof setTimeout> | null = null;
    const readAgain = () => {
      if (later) { clearTimeout(later); later = null; }
      lastRead = Date.now();
      this.#tagsRead = false;
      this.#macros = null;
      this.#settings = null;
      this.refresh++;
      this.reloadSide();
    };
    const changed = (bulk: boolean) => {
      const wait = lastRead + DOWNLOAD_READS_MS - Date.now();
      if (!bulk || wait <= 0) readAgain();
      else later ??= setTimeout(readAgain, wait);
    };
    stops.push(() => { if (later) clearTimeout(later); });
    (async () => {
      const listening = await Promise.all([
        this.backend.onCacheChanged((e) => changed(e.bulk)),
        this.backend.onSyncStatus((s) => {
          const ended = downloading && s.download == null;
          downloading = s.download != null;
          this.status = s;
          if (s.notice) this.notice = s.notice;
          if (ended && later) readAgain();
        }),
        this.backend.onOpenTicket(onOpenTicket),
        this.backend.onOpenConversation(onOpenConversation),
        this.backend.onPresence((list) => (this.presence = list)),
      ]);
      if (stopped) listening.forEach((u) => u());
      else stops.push(...listening);
    })();
    return () => {
      stopped = true;
      clearInterval(tick);
      clearInterval(side);
      stops.forEach((u) => u());
    };
  }

  /** The agent's macros, read once until the next change (a ticket page
   * opened after another asks no more of the cache than its ticket). */
  macros(): Promise<Macro[]> {
    return (this.#macros ??= this.backend.macros().catch((e) => {
      this.#macros = null;
      throw e;
    }));
  }

  /** The team's settings, read once until the next change. */
  settings(): Promise<TeamSettings> {
    return (this.#settings ??= this.backend.settings().catch((e) => {
      this.#settings = null;
      throw e;
    }));
  }

  /** Reads the team's tags if they are not read since the last change. */
  wantTags(): void {
    if (this.#tagsRead) return;
    this.#tagsRead = true;
    this.backend.tags()
      .then((c) => (this.teamTags = c.map((t) => t.tag)))
      .catch(() => (this.#tagsRead = false));
  }

  signedOut(): void {
    this.session = null;
    this.presence = [];
  }
}

const KEY = Symbol('desk');

/** Gives `desk` to the components below (the App, or a test). */
export function provideDesk(desk: Desk): Desk {
  setContext(KEY, desk);
  return desk;
}

/** The app's state, as the App gave it. */
export function useDesk(): Desk {
  const desk = getContext<Desk | undefined>(KEY);
  if (!desk) throw new Error('no Desk in the context: render under the App, or give one (deskContext in tests)');
  return desk;
}

/** A context holding `desk`, for rendering a component alone (tests). */
export function deskContext(desk: Desk): Map<symbol, Desk> {
  return new Map([[KEY, desk]]);
}
