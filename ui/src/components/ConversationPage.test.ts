import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import ConversationPage from './ConversationPage.svelte';
import { MockBackend, alice, inboxRow, row, withDesk } from '../mock-backend';
import type { Agent } from '../generated/Agent';
import type { ConversationDetail } from '../generated/ConversationDetail';

const dana: Agent = { id: 'a2', name: 'Dana Admin', email: 'dana@example.com', role: 'admin', active: true };

function detail(extra: Partial<ConversationDetail> = {}): Omit<ConversationDetail, 'actions'> {
  return {
    id: 'c1', customer: { name: 'Casey Jones', email: 'casey@example.org' }, channel: 'chat', assignee_id: null,
    created_at: new Date().toISOString(), pending: false,
    messages: [
      { id: 'm1', conversation_id: 'c1', author: 'customer', body: 'My order is late', sent_at: new Date().toISOString(), pending: false },
      { id: 'm2', conversation_id: 'c1', author: 'ai', body: 'Let me check', sent_at: new Date().toISOString(), pending: false },
    ],
    tickets: [], other_conversations: [], other_tickets: [],
    ...extra,
  };
}

function props(backend: MockBackend, me: Agent = alice, onTicket = (_: string) => {}) {
  return { props: { id: 'c1', onTicket }, context: withDesk(backend, { me, agents: [alice, dana] }).context };
}

describe('the conversation page', () => {
  it('shows the thread, the customer and the linked tickets, and claims', async () => {
    const backend = new MockBackend(null);
    backend.conversations.set('c1', detail({
      tickets: [row(1042, 'Late order', { status: 'in_progress' })],
      other_conversations: [inboxRow(9, 'Casey Jones', { id: 'c9', channel: 'email' })],
      other_tickets: [row(1001, 'Earlier refund', { id: 't1001', status: 'closed' })],
    }));
    // The rules, as the cache's check answers them for an agent.
    backend.refuse = (m) => (m.name === 'assign_conversation'
      ? { code: 'forbidden', message: 'only an admin can assign a conversation to someone; you can claim it for yourself' } : null);
    const { container } = render(ConversationPage, props(backend));
    await screen.findByText('My order is late');
    expect(container.querySelector('[data-testid=conversation-title]')?.textContent).toContain('Casey Jones');
    expect(container.querySelector('[data-testid=customer-card]')?.textContent).toContain('casey@example.org');
    expect(container.querySelector('[data-testid=linked-tickets]')?.textContent).toContain('#1042 Late order');
    expect(container.querySelector('[data-testid=linked-tickets]')?.textContent).toContain('in progress');
    expect(container.querySelector('[data-testid=customer-history]')?.textContent).toContain('Earlier refund');
    expect(screen.getByText('AI assistant')).toBeTruthy();
    // An agent cannot assign a conversation: no picker; claiming is offered.
    expect(container.querySelector('select[aria-label="Assign conversation"]')).toBeNull();
    await fireEvent.click(container.querySelector('button[data-action=claim]') as HTMLButtonElement);
    await waitFor(() => expect(backend.acted).toEqual([{ name: 'claim_conversation', args: { conversation_id: 'c1' } }]));
  });

  it("shows each reply's delivery, and retries a failed one", async () => {
    const backend = new MockBackend(null);
    const at = new Date().toISOString();
    const reply = (id: string, extra: object) => ({ id, conversation_id: 'c1', author: 'agent' as const, agent_id: 'a1', body: `reply ${id}`, sent_at: at, pending: false, ...extra });
    backend.conversations.set('c1', detail({ messages: [
      { id: 'm1', conversation_id: 'c1', author: 'customer', body: 'My order is late', sent_at: at, pending: false },
      reply('r1', { pending: true, delivery: { state: 'queued', attempts: 0 } }),
      reply('r2', { delivery: { state: 'queued', attempts: 0 } }),
      reply('r3', { delivery: { state: 'sent', attempts: 1 } }),
      reply('r4', { delivery: { state: 'delivered', attempts: 1 } }),
      reply('r5', { delivery: { state: 'read', attempts: 1 } }),
      reply('r6', { delivery: { state: 'failed', attempts: 3, reason: 'the receiver answered 410 Gone' } }),
    ] }));
    const { desk, context } = withDesk(backend, { me: alice, agents: [alice, dana] });
    desk.status = { connection: 'online', error: null, last_sync_at: null, pending: 0, problems: 0, clock_offset_ms: 0, notice: null, download: null };
    const { container } = render(ConversationPage, { props: { id: 'c1', onTicket: () => {} }, context });
    await screen.findByText('My order is late');
    const word = (id: string) => container.querySelector(`[data-message=${id}] [data-delivery]`)?.textContent;
    expect(['r1', 'r2', 'r3', 'r4', 'r5', 'r6'].map(word)).toEqual(['Waiting to sync', 'Sending…', 'Sent', 'Delivered', 'Read', 'Failed']);
    expect(container.querySelector('[data-message=m1] [data-delivery]')).toBeNull();
    expect(container.querySelector('[data-message=r6] [data-testid=delivery-failed]')?.textContent).toContain('the receiver answered 410 Gone');
    await fireEvent.click(container.querySelector('[data-message=r6] [data-action=retry-delivery]')!);
    await waitFor(() => expect(backend.retried).toEqual(['r6']));
    await waitFor(() => expect(word('r6')).toBe('Sending…'));
  });

  it('offers no Retry while offline', async () => {
    const backend = new MockBackend(null);
    const at = new Date().toISOString();
    backend.conversations.set('c1', detail({ messages: [
      { id: 'r6', conversation_id: 'c1', author: 'agent', agent_id: 'a1', body: 'sorry', sent_at: at, pending: false,
        delivery: { state: 'failed', attempts: 1, reason: 'no webhook takes replies' } },
    ] }));
    const { desk, context } = withDesk(backend, { me: alice, agents: [alice, dana] });
    desk.status = { connection: 'offline', error: null, last_sync_at: null, pending: 0, problems: 0, clock_offset_ms: 0, notice: null, download: null };
    const { container } = render(ConversationPage, { props: { id: 'c1', onTicket: () => {} }, context });
    await screen.findByText('sorry');
    expect((container.querySelector('[data-action=retry-delivery]') as HTMLButtonElement).disabled).toBe(true);
  });

  it('creates a ticket with a category picked from the team and the assignee defaulting to me', async () => {
    const backend = new MockBackend(null);
    backend.conversations.set('c1', detail());
    const opened: string[] = [];
    const { container } = render(ConversationPage, props(backend, alice, (id) => opened.push(id)));
    await screen.findByText('My order is late');
    await fireEvent.click(container.querySelector('button[data-action=create]') as HTMLButtonElement);
    const category = await screen.findByLabelText('Category') as HTMLSelectElement;
    await waitFor(() => expect([...category.options].map((o) => o.value)).toEqual(['', 'billing', 'shipping', 'technical']));
    const assignee = screen.getByLabelText('Assignee') as HTMLSelectElement;
    // An agent may only assign to themself.
    expect([...assignee.options].map((o) => o.value)).toEqual([alice.id]);
    await fireEvent.input(screen.getByLabelText('Subject'), { target: { value: 'Order 77 late' } });
    await fireEvent.change(category, { target: { value: 'shipping' } });
    await fireEvent.submit(container.querySelector('[data-testid=create-form]') as HTMLFormElement);
    await waitFor(() => expect(backend.acted).toHaveLength(1));
    const m = backend.acted[0];
    expect(m.name).toBe('create_ticket');
    if (m.name === 'create_ticket') {
      expect(m.args).toMatchObject({ conversation_id: 'c1', subject: 'Order 77 late', category: 'shipping', assignee_id: alice.id, priority: 'normal' });
      expect(opened).toEqual([m.args.id]);
    }
  });

  it('offers to reopen a resolved linked ticket instead', async () => {
    const backend = new MockBackend(null);
    backend.conversations.set('c1', detail({ tickets: [row(1042, 'Late order', { status: 'resolved' })] }));
    const { container } = render(ConversationPage, props(backend));
    await screen.findByText('My order is late');
    await fireEvent.click(container.querySelector('button[data-action=create]') as HTMLButtonElement);
    const reopen = await screen.findByText('Reopen #1042');
    await fireEvent.click(reopen);
    await waitFor(() => expect(backend.acted[0]).toEqual({ name: 'change_status', args: { ticket_id: 't1042', status: 'in_progress' } }));
  });

  it('lets an admin assign the conversation, offering only what the rules allow', async () => {
    const backend = new MockBackend(null);
    backend.conversations.set('c1', detail({ assignee_id: alice.id }));
    backend.team = [alice, dana];
    const { container } = render(ConversationPage, props(backend, dana));
    const picker = await waitFor(() => {
      const s = container.querySelector('select[aria-label="Assign conversation"]') as HTMLSelectElement | null;
      expect(s).not.toBeNull();
      return s as HTMLSelectElement;
    });
    // Alice holds it already: only Dana is offered.
    expect([...picker.options].map((o) => o.value)).toEqual(['', dana.id]);
    await fireEvent.change(picker, { target: { value: dana.id } });
    await waitFor(() => expect(backend.acted).toEqual([{ name: 'assign_conversation', args: { conversation_id: 'c1', agent_id: dana.id } }]));
  });

  it('says why claiming is refused', async () => {
    const backend = new MockBackend(null);
    backend.conversations.set('c1', detail());
    backend.refuse = (m) => (m.name === 'claim_conversation' ? { code: 'forbidden', message: 'a deactivated agent can do nothing' } : null);
    const { container } = render(ConversationPage, props(backend));
    await screen.findByText('My order is late');
    const claim = container.querySelector('button[data-action=claim]') as HTMLButtonElement;
    await waitFor(() => expect(claim.disabled).toBe(true));
    expect(claim.title).toBe('a deactivated agent can do nothing');
  });

  it('shows an email conversation: subject, files to open, automatic mail, quoted text folded; replies with files', async () => {
    const backend = new MockBackend(null);
    const at = new Date().toISOString();
    backend.conversations.set('c1', detail({ channel: 'email', subject: 'Order 1042 is late', messages: [
      { id: 'm1', conversation_id: 'c1', author: 'customer', body: 'Still waiting.\n\nOn Mon, Support wrote:\n> It ships today', sent_at: at, pending: false,
        quoted_at: 'Still waiting.\n\n'.length,
        attachments: [{ id: 'f1', name: 'label.png', content_type: 'image/png', size: 300_000 }] },
      { id: 'm2', conversation_id: 'c1', author: 'customer', body: 'I am away until Monday', sent_at: at, pending: false, automatic: true },
    ] }));
    const { desk, context } = withDesk(backend, { me: alice, agents: [alice, dana] });
    desk.status = { connection: 'online', error: null, last_sync_at: null, pending: 0, problems: 0, clock_offset_ms: 0, notice: null, download: null };
    const { container } = render(ConversationPage, { props: { id: 'c1', onTicket: () => {} }, context });
    await screen.findByText('Still waiting.', { exact: false });
    expect(container.querySelector('[data-testid=conversation-subject]')?.textContent).toContain('Order 1042 is late');
    expect(container.querySelector('[data-testid=conversation-subject] [aria-label=Email]')).not.toBeNull();
    // The quoted history is folded, not dropped.
    const quoted = container.querySelector('[data-message=m1] details.quoted') as HTMLDetailsElement;
    expect(quoted.open).toBe(false);
    expect(quoted.textContent).toContain('> It ships today');
    expect(container.querySelector('[data-message=m1] .message-body')?.textContent).toBe('Still waiting.\n\n');
    expect(container.querySelector('[data-message=m2] [data-testid=automatic]')).not.toBeNull();
    expect(container.querySelector('[data-message=m1] [data-testid=automatic]')).toBeNull();
    // A file opens with the computer's viewer; its size in words.
    const file = container.querySelector('[data-message=m1] [data-action=open-attachment]') as HTMLButtonElement;
    expect(file.textContent).toContain('label.png');
    expect(file.parentElement?.textContent).toContain('293 KB');
    await fireEvent.click(file);
    await waitFor(() => expect(backend.opened).toEqual(['f1']));
    // A reply with a file: uploaded first, named in the reply.
    const picker = container.querySelector('[data-testid=file-picker]') as HTMLInputElement;
    const pdf = new File(['%PDF-1.4'], 'invoice.pdf', { type: 'application/pdf' });
    await fireEvent.change(picker, { target: { files: [pdf] } });
    await waitFor(() => expect(container.querySelector('[data-attached="invoice.pdf"]')).not.toBeNull());
    await fireEvent.input(screen.getByLabelText('Reply'), { target: { value: 'Here is the invoice' } });
    await fireEvent.click(container.querySelector('button[data-action=send-reply]') as HTMLButtonElement);
    await waitFor(() => expect(backend.acted.length).toBe(1));
    const sent = backend.acted[0] as { name: string; args: { body: string; attachment_ids: string[] } };
    expect(sent.name).toBe('reply');
    expect(sent.args.body).toBe('Here is the invoice');
    expect(sent.args.attachment_ids).toEqual(['att1']);
    await waitFor(() => expect(container.querySelector('[data-attached]')).toBeNull());
  });

  it('says a file not yet on this computer needs a connection, and attaching needs one too', async () => {
    const backend = new MockBackend(null);
    backend.conversations.set('c1', detail({ channel: 'email', messages: [
      { id: 'm1', conversation_id: 'c1', author: 'customer', body: 'see file', sent_at: new Date().toISOString(), pending: false,
        attachments: [{ id: 'f1', name: 'label.png', content_type: 'image/png', size: 10 }] },
    ] }));
    const { desk, context } = withDesk(backend, { me: alice, agents: [alice, dana] });
    desk.status = { connection: 'offline', error: null, last_sync_at: null, pending: 0, problems: 0, clock_offset_ms: 0, notice: null, download: null };
    backend.online = false;
    const { container } = render(ConversationPage, { props: { id: 'c1', onTicket: () => {} }, context });
    await screen.findByText('see file');
    expect((container.querySelector('button[data-action=attach]') as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.click(container.querySelector('[data-action=open-attachment]') as HTMLButtonElement);
    await screen.findByText('label.png is not on this computer yet: opening it needs a connection.');
  });
});
