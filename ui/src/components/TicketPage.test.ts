import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import TicketPage from './TicketPage.svelte';
import { MockBackend, alice, row, withDesk } from '../mock-backend';
import type { Agent } from '../generated/Agent';

const ben: Agent = { id: 'a2', name: 'Ben Okoro', email: 'ben@example.com', role: 'agent', active: true };
const gone: Agent = { id: 'a3', name: 'Bea Gone', email: 'bea@example.com', role: 'agent', active: false };

function setup(refuse: MockBackend['refuse'] = () => null, extra: Parameters<typeof row>[2] = {}, rows: ReturnType<typeof row>[] = [], unread: string[] = []) {
  const backend = new MockBackend(null, rows);
  backend.refuse = refuse;
  backend.tickets_.set('t1042', {
    ticket: row(1042, 'Refund not received', { id: 't1042', ...extra }),
    unread_mentions: unread,
    conversation: { id: 'c1', customer: { name: 'Casey Jones', email: 'casey@example.org' }, channel: 'chat', assignee_id: null, created_at: new Date().toISOString() },
    activity: [{ id: 'e1', ticket_id: 't1042', at: new Date().toISOString(), actor: { kind: 'agent', agent_id: 'a1' },
      kind: 'status_changed', data: { from: 'resolved', to: 'in_progress' }, pending: false,
      who: 'Alice Moreau', text: 'status resolved → in progress' }],
  });
  const conversations: string[] = [];
  const view = render(TicketPage, { props: { id: 't1042', onConversation: (id: string) => conversations.push(id), keys: { key: '', n: 0 } },
    context: withDesk(backend, { agents: [alice, ben, gone] }).context });
  return { backend, conversations, ...view };
}

describe('the ticket page', () => {
  it('shows the header, the customer, the timers and the timeline in the words the cache gives', async () => {
    const { container, conversations } = setup();
    await waitFor(() => expect(container.querySelector('[data-testid=ticket-subject]')?.textContent).toContain('#1042 · Refund not received'));
    expect(container.querySelector('[data-testid=customer]')?.textContent).toContain('Casey Jones');
    expect(container.querySelector('[data-testid=sla]')?.textContent).toContain('First response');
    expect(container.querySelector('[data-testid=timeline]')?.textContent).toContain('Alice Moreau status resolved → in progress');
    expect((screen.getByLabelText('Change priority') as HTMLSelectElement).className).toContain('p-high');
    await fireEvent.click(screen.getByText('Open the conversation'));
    expect(conversations).toEqual(['c1']);
  });

  it('disables what the rules refuse and says why', async () => {
    const { container } = setup((m) => (m.name === 'change_status' && m.args.status === 'closed'
      ? { code: 'invalid_transition', message: 'resolve the ticket before closing it' } : null));
    await waitFor(() => expect(container.querySelector('[data-testid=ticket-subject]')).not.toBeNull());
    const close = container.querySelector('button[data-action=close]') as HTMLButtonElement;
    await waitFor(() => expect(close.disabled).toBe(true));
    expect(close.title).toBe('resolve the ticket before closing it');
    const closed = container.querySelector("select[aria-label='Change status'] option[value=closed]") as HTMLOptionElement;
    expect(closed.disabled).toBe(true);
    expect((container.querySelector('button[data-action=resolve]') as HTMLButtonElement).disabled).toBe(false);
  });

  it('edits the subject in place, the category picked from the team', async () => {
    const { container, backend } = setup();
    const subject = await waitFor(() => {
      const b = container.querySelector('[data-testid=ticket-subject] button.editable') as HTMLButtonElement | null;
      expect(b).not.toBeNull();
      return b as HTMLButtonElement;
    });
    await fireEvent.click(subject);
    const category = screen.getByLabelText('Edit category') as HTMLSelectElement;
    await waitFor(() => expect([...category.options].map((o) => o.value)).toEqual(['', 'billing', 'shipping', 'technical']));
    await fireEvent.input(screen.getByLabelText('Edit subject'), { target: { value: 'Refund for order 77' } });
    await fireEvent.change(category, { target: { value: 'shipping' } });
    await fireEvent.submit(container.querySelector('[data-testid=edit-form]') as HTMLFormElement);
    await waitFor(() => expect(backend.acted).toHaveLength(1));
    expect(backend.acted[0]).toEqual({ name: 'edit_ticket', args: { ticket_id: 't1042', subject: 'Refund for order 77', description: undefined, category: 'shipping', base_version: 1 } });
  });

  it('comments', async () => {
    const { container, backend } = setup();
    await waitFor(() => expect(container.querySelector('[data-testid=ticket-subject]')).not.toBeNull());
    await fireEvent.input(screen.getByLabelText('Comment'), { target: { value: 'Checked the warehouse' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Comment' }));
    await waitFor(() => expect(backend.acted[0]?.name).toBe('comment'));
  });

  it('adds a typed tag, suggested from the team, and removes one with its button', async () => {
    const { container, backend } = setup(() => null, { tags: ['vip'] }, [row(1, 'x', { tags: ['refund', 'vip'] })]);
    await waitFor(() => expect(container.querySelector('[data-testid=tags] [data-tag=vip]')).not.toBeNull());
    await fireEvent.focus(screen.getByLabelText('Add a tag'));
    await waitFor(() => expect([...container.querySelectorAll('#ticket-tag-suggestions option')].map((o) => (o as HTMLOptionElement).value)).toEqual(['refund']));
    await fireEvent.input(screen.getByLabelText('Add a tag'), { target: { value: 'late-delivery' } });
    await fireEvent.submit(container.querySelector('[data-testid=tags]') as HTMLFormElement);
    await waitFor(() => expect(backend.acted).toHaveLength(1));
    expect(backend.acted[0]).toEqual({ name: 'set_tags', args: { ticket_id: 't1042', add: ['late-delivery'], remove: [] } });
    await fireEvent.click(screen.getByLabelText('Remove tag vip'));
    await waitFor(() => expect(backend.acted).toHaveLength(2));
    expect(backend.acted[1]).toEqual({ name: 'set_tags', args: { ticket_id: 't1042', add: [], remove: ['vip'] } });
  });

  it('says why tags cannot be changed when the rules refuse it', async () => {
    const { container } = setup((m) => (m.name === 'set_tags' ? { code: 'forbidden', message: 'only the assignee or an admin can tag this ticket' } : null), { tags: ['vip'] });
    const input = await waitFor(() => {
      const i = screen.getByLabelText('Add a tag') as HTMLInputElement;
      expect(i.disabled).toBe(true);
      return i;
    });
    expect(input.title).toContain('only the assignee or an admin can tag');
    expect(container.querySelector('[aria-label="Remove tag vip"]')).toBeNull();
  });

  it('offers the team\'s active agents after @ and sends the picked ones with the comment', async () => {
    const { container, backend } = setup();
    const box = await waitFor(() => screen.getByLabelText('Comment') as HTMLTextAreaElement);
    await fireEvent.input(box, { target: { value: 'Please check @b', selectionStart: 15 } });
    const picker = await waitFor(() => {
      const p = container.querySelector('[data-testid=mention-picker]');
      expect(p).not.toBeNull();
      return p as HTMLElement;
    });
    expect([...picker.querySelectorAll('li')].map((l) => l.textContent)).toEqual(['Ben Okoro']);
    await fireEvent.keyDown(box, { key: 'Enter' });
    expect(box.value).toBe('Please check @Ben Okoro ');
    expect(container.querySelector('[data-testid=mention-picker]')).toBeNull();
    await fireEvent.submit(box.closest('form') as HTMLFormElement);
    await waitFor(() => expect(backend.acted).toHaveLength(1));
    expect(backend.acted[0]).toMatchObject({ name: 'comment', args: { body: 'Please check @Ben Okoro ', mention_ids: ['a2'] } });
  });

  it('reads the agent\'s mentions here when the page opens', async () => {
    const { backend } = setup(() => null, {}, [], ['e9']);
    await waitFor(() => expect(backend.acted).toContainEqual({ name: 'mark_mentions_read', args: { entry_ids: ['e9'] } }));
  });

  it('previews a macro picked from the page, refused steps in the rule\'s words, and applies it', async () => {
    const backend = new MockBackend(null);
    backend.tickets_.set('t1042', { ticket: row(1042, 'Refund not received', { id: 't1042' }), conversation: null, activity: [] });
    backend.macroList = [{ id: 'm1', name: 'Refund sent', scope: 'team', owner_id: null, text: 'Hi {{customer.first_name}}', text_kind: 'reply',
      actions: [{ kind: 'status', value: 'waiting_on_customer' }, { kind: 'add_tags', value: ['refund'] }] }];
    backend.preview = { text: 'Hi Casey', actions: [
      { kind: 'reply', value: 'Hi Casey', allowed: true },
      { kind: 'status', value: 'waiting_on_customer', allowed: false, refusal: { code: 'forbidden', message: 'only the assignee or an admin can change the status of this ticket', fields: {}, current: {} } },
      { kind: 'add_tags', value: ['refund'], allowed: true },
    ] } as never;
    const { container } = render(TicketPage, { props: { id: 't1042', onConversation: () => {}, keys: { key: '', n: 0 } },
      context: withDesk(backend, { agents: [alice] }).context });
    const pick = await waitFor(() => {
      const s = container.querySelector('select[aria-label="Apply macro"]');
      expect(s).not.toBeNull();
      return s as HTMLSelectElement;
    });
    await fireEvent.change(pick, { target: { value: 'm1' } });
    const preview = await waitFor(() => {
      const p = container.querySelector('[data-testid=macro-preview]');
      expect(p?.querySelectorAll('li')).toHaveLength(3);
      return p as HTMLElement;
    });
    expect(preview.querySelector('[data-testid=macro-text]')?.textContent).toBe('Hi Casey');
    expect(preview.querySelector('li[data-step=status]')?.getAttribute('data-allowed')).toBe('false');
    expect(preview.querySelector('li[data-step=status]')?.textContent).toContain('only the assignee or an admin');
    await fireEvent.click(preview.querySelector('button[data-action=apply-macro]')!);
    await waitFor(() => expect(backend.applied).toEqual([['t1042', 'm1']]));
    await waitFor(() => expect(container.textContent).toContain('Applied "Refund sent": 2 step(s) done; refused'));
    expect(container.querySelector('[data-testid=macro-preview]')).toBeNull();
  });

  it('merges into a ticket picked with the keyboard after a preview of what moves', async () => {
    const { container, backend } = setup(() => null, {}, [row(1041, 'Refund again', { id: 't1041' }), row(1040, 'Closed one', { id: 't1040', status: 'closed' })]);
    const open = await waitFor(() => {
      const b = container.querySelector('button[data-action=merge]') as HTMLButtonElement | null;
      expect(b?.disabled).toBe(false);
      return b as HTMLButtonElement;
    });
    await fireEvent.click(open);
    const picker = screen.getByLabelText('Ticket to merge into');
    await waitFor(() => expect(container.querySelectorAll('[data-target]').length).toBe(1));
    expect(container.querySelector('[data-target]')?.textContent).toContain('#1041 Refund again');
    await fireEvent.keyDown(picker, { key: 'Enter' });
    await waitFor(() => expect(container.querySelector('[data-testid=merge-moves]')?.textContent).toContain('merged into #2'));
    await fireEvent.click(container.querySelector('button[data-action=confirm-merge]') as HTMLButtonElement);
    await waitFor(() => expect(backend.acted.at(-1)).toEqual({ name: 'merge_ticket', args: { ticket_id: 't1042', into_ticket_id: 't1041' } }));
  });

  it('a refused merge says why and cannot be confirmed', async () => {
    const { container, backend } = setup(() => null, {}, [row(1041, 'Refund again', { id: 't1041' })]);
    backend.mergeAnswer = { refusal: { code: 'forbidden', message: 'only the assignee or an admin can merge into this ticket' }, moves: [] };
    await waitFor(() => expect(container.querySelector('button[data-action=merge]')).not.toBeNull());
    await fireEvent.click(container.querySelector('button[data-action=merge]') as HTMLButtonElement);
    await waitFor(() => expect(container.querySelector('[data-target]')).not.toBeNull());
    await fireEvent.click(container.querySelector('[data-target]') as HTMLElement);
    await waitFor(() => expect(container.querySelector('[data-testid=merge-refusal]')?.textContent).toContain('only the assignee or an admin'));
    expect((container.querySelector('button[data-action=confirm-merge]') as HTMLButtonElement).disabled).toBe(true);
  });

  it('a merged ticket says where it went, offers the unmerge, and a target marks what came from it', async () => {
    const { container, backend } = setup(() => null, { status: 'closed', merged_into_id: 't7', merge: {
      at: new Date().toISOString(), into_number: 7, status: 'open', resolved_at: null,
      sla_clock: { first_response_stopped_at: null, first_response_target_minutes: null, resolution_excluded_ms: 0,
        resolution_halted_at: null, resolution_target_minutes: null, first_response_breach_recorded: false, resolution_breach_recorded: false } } });
    await waitFor(() => expect(container.querySelector('[data-testid=merged-banner]')?.textContent).toContain('Merged into #7'));
    expect(container.querySelector('button[data-action=merge]')).toBeNull();
    await fireEvent.click(container.querySelector('button[data-action=unmerge]') as HTMLButtonElement);
    await waitFor(() => expect(backend.acted.at(-1)).toEqual({ name: 'unmerge_ticket', args: { ticket_id: 't1042' } }));
  });
});
