import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import Palette from './Palette.svelte';
import { MockBackend, alice, inboxRow, row, withDesk } from '../mock-backend';
import type { Route } from '../lib/nav.svelte';

function setup(route: Route = { kind: 'view', view: 'mine' }, refuse: MockBackend['refuse'] = () => null) {
  const backend = new MockBackend(null, [row(1042, 'Refund not received', { id: 't1042' })]);
  backend.refuse = refuse;
  backend.tickets_.set('t1042', { ticket: row(1042, 'Refund not received', { id: 't1042', assignee_id: null }), activity: [], conversation: null });
  backend.inboxRows = [inboxRow(1, 'Casey Jones')];
  const went: Route[] = [];
  let closed = 0;
  const view = render(Palette, { props: { route, onGo: (r: Route) => went.push(r), onClose: () => closed++ }, context: withDesk(backend).context });
  const box = screen.getByLabelText('Command') as HTMLInputElement;
  return { backend, went, closed: () => closed, box, ...view };
}

const labels = (c: HTMLElement) => [...c.querySelectorAll('[role=option]')].map((o) => o.textContent ?? '');

describe('the command palette', () => {
  it('jumps to a ticket by its number, keyboard only', async () => {
    const { box, went, closed } = setup();
    expect(document.activeElement).toBe(box);
    await fireEvent.input(box, { target: { value: '#1042' } });
    await screen.findByText('Open ticket #1042');
    await fireEvent.keyDown(box, { key: 'Enter' });
    await waitFor(() => expect(went).toEqual([{ kind: 'ticket', id: 't1042' }]));
    expect(closed()).toBe(1);
  });

  it('says so when no ticket has that number', async () => {
    const { box, went } = setup();
    await fireEvent.input(box, { target: { value: '7' } });
    await screen.findByText('Open ticket #7');
    await fireEvent.keyDown(box, { key: 'Enter' });
    expect((await screen.findByRole('alert')).textContent).toContain('no ticket #7');
    expect(went).toEqual([]);
  });

  it('finds views, tickets and conversations by text, and moves with the arrows', async () => {
    const { box, went, container } = setup();
    await fireEvent.input(box, { target: { value: 'ca' } });
    await waitFor(() => expect(labels(container).some((l) => l.includes('Casey Jones'))).toBe(true));
    await fireEvent.input(box, { target: { value: 'unassigned' } });
    await waitFor(() => expect(labels(container)[0]).toContain('Go to Inbox: Unassigned'));
    await fireEvent.keyDown(box, { key: 'Enter' });
    expect(went).toEqual([{ kind: 'inbox', view: 'unassigned' }]);
  });

  it('offers only the actions the rules allow on the open ticket, and runs one', async () => {
    const { backend, box, container } = setup({ kind: 'ticket', id: 't1042' }, (m) => (m.name === 'change_status' && m.args.status === 'closed'
      ? { code: 'invalid_transition', message: 'only a resolved ticket can be closed' } : null));
    await fireEvent.input(box, { target: { value: 'set status' } });
    await waitFor(() => expect(labels(container).join('|')).toContain('Set status: in progress'));
    const shown = labels(container).join('|');
    await fireEvent.input(box, { target: { value: 'resolve' } });
    await waitFor(() => expect(labels(container)[0]).toContain('Resolve'));
    await fireEvent.input(box, { target: { value: 'close' } });
    await waitFor(() => expect(labels(container).join('|')).not.toContain('Close'));
    await fireEvent.input(box, { target: { value: 'set status' } });
    await waitFor(() => expect(labels(container).length).toBeGreaterThan(0));
    expect(shown).not.toContain('Set status: open');
    await fireEvent.input(box, { target: { value: 'assign to me' } });
    await waitFor(() => expect(labels(container)[0]).toContain('Assign to me'));
    await fireEvent.keyDown(box, { key: 'Enter' });
    await waitFor(() => expect(backend.acted).toEqual([{ name: 'assign', args: { ticket_id: 't1042', assignee_id: alice.id } }]));
  });

  it('opens All Tickets filtered by a tag typed as tag:name', async () => {
    const { box, backend, went } = setup();
    backend.rows = [row(1, 'x', { tags: ['vip', 'refund'] }), row(2, 'y', { tags: ['vip'] })];
    await fireEvent.input(box, { target: { value: 'tag:v' } });
    await screen.findByText('Tickets tagged vip');
    expect(screen.queryByText('Tickets tagged refund')).toBeNull();
    await fireEvent.keyDown(box, { key: 'Enter' });
    await waitFor(() => expect(went).toEqual([{ kind: 'view', view: 'all', tag: 'vip' }]));
  });

  it('finds a macro by name on a ticket, previews it and applies it from the keyboard', async () => {
    const { box, backend } = setup({ kind: 'ticket', id: 't1042' });
    backend.macroList = [{ id: 'm1', name: 'Refund sent', scope: 'team', owner_id: null, text: null, text_kind: 'comment',
      actions: [{ kind: 'add_tags', value: ['refund'] }] }];
    backend.preview = { text: null, actions: [{ kind: 'add_tags', value: ['refund'], allowed: true }] } as never;
    // The palette reads the ticket's actions (and macros) when it opens: open it again.
    await fireEvent.input(box, { target: { value: 'refund sent' } });
    await screen.findByText('Macro: Refund sent');
    await fireEvent.keyDown(box, { key: 'Enter' });
    const apply = await screen.findByRole('button', { name: 'Apply (Enter)' });
    await waitFor(() => expect(document.activeElement).toBe(apply));
    await fireEvent.click(apply);
    await waitFor(() => expect(backend.applied).toEqual([['t1042', 'm1']]));
    expect((await screen.findByTestId('macro-said')).textContent).toContain('1 step(s) done');
  });
});
