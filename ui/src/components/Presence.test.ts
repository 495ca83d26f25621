import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import TicketPage from './TicketPage.svelte';
import TicketList from './TicketList.svelte';
import { MockBackend, alice, row, withDesk } from '../mock-backend';
import type { Agent } from '../generated/Agent';
import type { PresenceEntry } from '../generated/PresenceEntry';

const ben: Agent = { id: 'a2', name: 'Ben Okoro', email: 'ben@example.com', role: 'agent', active: true };
const agents = new Map([[alice.id, alice], [ben.id, ben]]);

function page(backend: MockBackend, presence: PresenceEntry[] = []) {
  backend.tickets_.set('t1042', { ticket: row(1042, 'Refund not received', { id: 't1042' }), activity: [], conversation: null });
  const { desk, context } = withDesk(backend, { agents: [...agents.values()], presence });
  return { desk, ...render(TicketPage, { props: { id: 't1042', onConversation: () => {}, keys: { key: '', n: 0 } }, context }) };
}

describe('presence on a ticket', () => {
  it('beats while open: viewing at once, typing at most every 3 s, left on leaving', async () => {
    const backend = new MockBackend(null);
    const { unmount } = page(backend);
    await waitFor(() => expect(backend.beats).toEqual([{ ticket_id: 't1042', state: 'viewing' }]));
    const box = screen.getByLabelText('Comment');
    for (let i = 0; i < 5; i++) await fireEvent.input(box, { target: { value: `typing ${i}` } });
    expect(backend.beats.filter((b) => b.state === 'typing')).toHaveLength(1);
    unmount();
    expect(backend.beats.at(-1)).toEqual({ ticket_id: 't1042', state: 'left' });
  });

  it('names who else is here, and what they do', async () => {
    const backend = new MockBackend(null);
    const { container, desk } = page(backend, [
      { agent_id: ben.id, ticket_id: 't1042', state: 'viewing' },
      { agent_id: alice.id, ticket_id: 't1042', state: 'viewing' },
      { agent_id: ben.id, ticket_id: 't9', state: 'typing' },
    ]);
    await waitFor(() => expect(container.querySelector('[data-testid=presence]')?.textContent).toContain('Ben is viewing'));
    // Me, and other places, are not shown.
    expect(container.querySelectorAll('[data-testid=presence] .avatar')).toHaveLength(1);
    desk.presence = [{ agent_id: ben.id, ticket_id: 't1042', state: 'typing' }];
    await waitFor(() => expect(container.querySelector('[data-testid=presence]')?.textContent).toContain('Ben is typing a comment'));
    desk.presence = [];
    await waitFor(() => expect(container.querySelector('[data-testid=presence]')).toBeNull());
  });

  it('warns before sending while someone else types here: Wait keeps the comment, Send anyway sends it', async () => {
    const backend = new MockBackend(null);
    const { container } = page(backend, [{ agent_id: ben.id, ticket_id: 't1042', state: 'typing' }]);
    await waitFor(() => expect(container.querySelector('[data-testid=ticket-subject]')).not.toBeNull());
    await fireEvent.input(screen.getByLabelText('Comment'), { target: { value: 'I will call the customer' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Comment' }));
    const warning = await screen.findByTestId('typing-warning');
    expect(warning.textContent).toContain('Ben is typing a comment here');
    expect(backend.acted).toEqual([]);
    await fireEvent.click(screen.getByRole('button', { name: 'Wait' }));
    expect(screen.queryByTestId('typing-warning')).toBeNull();
    expect((screen.getByLabelText('Comment') as HTMLTextAreaElement).value).toBe('I will call the customer');
    await fireEvent.click(screen.getByRole('button', { name: 'Comment' }));
    await fireEvent.click(await screen.findByRole('button', { name: 'Send anyway' }));
    await waitFor(() => expect(backend.acted[0]?.name).toBe('comment'));
  });
});

describe('presence in a list', () => {
  it('marks the rows someone else has open', async () => {
    const backend = new MockBackend(null, [row(1, 'One', { id: 't1' }), row(2, 'Two', { id: 't2' })]);
    const { context } = withDesk(backend, { agents: [...agents.values()], presence: [{ agent_id: ben.id, ticket_id: 't2', state: 'viewing' }] });
    const { container } = render(TicketList, { props: { view: 'all', title: 'All', onOpen: () => {}, searchFocus: 0 }, context });
    await waitFor(() => expect(container.querySelectorAll('[data-testid=open-by]')).toHaveLength(1));
    const marker = container.querySelector('[data-ticket=t2] [data-testid=open-by]') as HTMLElement;
    expect(marker.getAttribute('title')).toBe('Open now: Ben Okoro');
  });
});
