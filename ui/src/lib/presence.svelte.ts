// Presence from the page's side: while a ticket or conversation is open,
// a heartbeat every 10 s ("viewing"), one at most every 3 s while typing,
// and "left" on leaving (RULES.md "Presence"). Best effort: a heartbeat
// that cannot go is dropped.
import type { Backend } from '../backend';
import type { Agent } from '../generated/Agent';
import type { PresenceEntry } from '../generated/PresenceEntry';

export const HEARTBEAT_MS = 10_000;
export const TYPING_BEAT_MS = 3_000;

export type Place = { ticket_id: string } | { conversation_id: string };

/** Starts the heartbeats of `place`; returns typing() and stop(). */
export function beat(backend: Backend, place: Place) {
  const send = (state: 'viewing' | 'typing' | 'left') =>
    backend.heartbeat({ ...place, state }).catch(() => {});
  let timer: ReturnType<typeof setInterval> | null = null;
  const start = () => {
    send('viewing');
    timer = setInterval(() => send('viewing'), HEARTBEAT_MS);
  };
  const pause = () => {
    if (timer) clearInterval(timer);
    timer = null;
  };
  // A window hidden (closed to the tray, minimised) is not looking.
  const onVisibility = () => {
    if (document.hidden) { pause(); send('left'); } else if (!timer) start();
  };
  document.addEventListener('visibilitychange', onVisibility);
  start();
  let lastTyping = 0;
  return {
    typing() {
      const now = Date.now();
      if (now - lastTyping < TYPING_BEAT_MS) return;
      lastTyping = now;
      send('typing');
    },
    stop() {
      document.removeEventListener('visibilitychange', onVisibility);
      pause();
      send('left');
    },
  };
}

/** The others at `place` (not me), from the team's presence. */
export function othersAt(list: PresenceEntry[], me: string, place: Place): PresenceEntry[] {
  return list.filter((e) => e.agent_id !== me
    && ('ticket_id' in place ? e.ticket_id === place.ticket_id : e.conversation_id === place.conversation_id));
}

/** "Dana is viewing", "Dana and Ben are typing a comment". */
export function describe(entries: PresenceEntry[], agents: Map<string, Agent>, typingWhat: string): string[] {
  const name = (id: string) => agents.get(id)?.name.split(' ')[0] ?? 'Someone';
  const list = (ids: string[]) => (ids.length <= 1 ? ids.map(name).join('')
    : `${ids.slice(0, -1).map(name).join(', ')} and ${name(ids[ids.length - 1])}`);
  const typing = entries.filter((e) => e.state === 'typing').map((e) => e.agent_id);
  const viewing = entries.filter((e) => e.state === 'viewing').map((e) => e.agent_id);
  const out: string[] = [];
  if (typing.length) out.push(`${list(typing)} ${typing.length > 1 ? 'are' : 'is'} typing ${typingWhat}`);
  if (viewing.length) out.push(`${list(viewing)} ${viewing.length > 1 ? 'are' : 'is'} viewing`);
  return out;
}
