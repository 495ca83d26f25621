// A reply's way to the customer in words (RULES.md "Channels"): what the
// conversation thread shows beside each agent reply.
import type { Message } from '../generated/Message';

export type DeliveryShown = {
  /** queued, sent, delivered, read, failed, or waiting (not yet synced). */
  state: string;
  label: string;
  /** The longer story, for the tooltip and screen readers. */
  title: string;
  /** Why it failed, when it did. */
  reason?: string;
};

/** How an agent reply's delivery reads; null for customers' and AI messages. */
export function deliveryShown(m: Pick<Message, 'author' | 'delivery'> & { pending?: boolean }): DeliveryShown | null {
  if (m.author !== 'agent') return null;
  if (m.pending) {
    return { state: 'waiting', label: 'Waiting to sync', title: 'Written on this computer: it goes to the customer once it reaches the server' };
  }
  const d = m.delivery;
  if (!d) return null;
  switch (d.state) {
    case 'queued':
      return d.attempts > 0
        ? { state: 'queued', label: 'Sending…', title: `Attempt ${d.attempts} did not get through (${d.reason ?? 'no reason given'}); trying again` }
        : { state: 'queued', label: 'Sending…', title: 'On its way to the customer' };
    case 'sent':
      return { state: 'sent', label: 'Sent', title: 'The channel took it' };
    case 'delivered':
      return { state: 'delivered', label: 'Delivered', title: 'The customer’s side has it' };
    case 'read':
      return { state: 'read', label: 'Read', title: 'The customer has read it' };
    case 'failed': {
      const reason = d.reason ?? 'the channel gave no reason';
      return { state: 'failed', label: 'Failed', title: `Not delivered: ${reason}`, reason };
    }
  }
}
