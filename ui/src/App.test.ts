import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import App from './App.svelte';
import { MockBackend, alice, inboxRow, row } from './mock-backend';
import { Nav } from './lib/nav.svelte';


describe('the app against a mock backend', () => {
  it('asks to sign in and shows the refusal in words', async () => {
    const backend = new MockBackend(null);
    render(App, { backend });
    const email = await screen.findByLabelText('Email');
    await fireEvent.input(email, { target: { value: 'alice@example.com' } });
    await fireEvent.input(screen.getByLabelText('Password'), { target: { value: 'nope' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveProperty('textContent', 'wrong email or password');
    expect(backend.signIns[0][1]).toBe('alice@example.com');
  });

  it('shows the views with counts, rows with pending marks, and ticket text as text', async () => {
    const backend = new MockBackend({ server: 'http://x', agent: alice, demo: false, token_in_keyring: false }, [
      row(1001, '<img src=x onerror=alert(1)>'),
      row(1002, 'Refund not received', { pending: true }),
    ]);
    const { container } = render(App, { backend });
    await waitFor(() => expect(container.querySelector('[data-count=mine]')?.textContent).toBe('3'));
    expect(container.querySelector('[data-count=all]')?.textContent).toBe('7');
    await screen.findByText('<img src=x onerror=alert(1)>');
    expect(container.querySelector('[data-testid=ticket-list] img')).toBeNull();
    expect(container.querySelectorAll('[data-testid=ticket-list] .pending-mark')).toHaveLength(1);
    expect(container.querySelector('[data-testid=pending]')?.textContent).toContain('2 pending');
    expect(screen.getByText('Sync problems')).toBeTruthy();
    // No OS keyring behind this sign-in: the window says where it is kept.
    expect(container.querySelector('[data-testid=token-note]')?.textContent).toContain('private file');
    // The first view is My Tickets; "g" then "a" jumps to All Tickets.
    expect(backend.queries.at(-1)?.view).toBe('mine');
    await fireEvent.keyDown(window, { key: 'g' });
    await fireEvent.keyDown(window, { key: 'a' });
    await waitFor(() => expect(backend.queries.at(-1)?.view).toBe('all'));
    // Sorting by a column asks the backend for that order.
    await fireEvent.click(screen.getByText('Priority', { selector: 'th' }));
    await waitFor(() => expect(backend.queries.at(-1)?.sort).toEqual(['priority', 'asc']));
    // The first view drawn was reported once (the app logs its start-up
    // time), not again for each view after it.
    await waitFor(() => expect(backend.starts).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 50));
    expect(backend.starts).toHaveLength(1);
    // With the page's own steps, in the order they happened.
    const steps = backend.starts[0];
    expect(steps.map(([label]) => label)).toEqual(['script', 'session', 'list asked', 'list read', 'list drawn', 'on screen']);
    const times = steps.map(([, ms]) => ms);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('counts unread mentions in the sidebar and lists them, each opening its ticket', async () => {
    const backend = new MockBackend({ server: 'http://x', agent: alice, demo: false, token_in_keyring: true }, []);
    backend.tickets_.set('t1042', { ticket: row(1042, 'Refund not received', { id: 't1042' }), activity: [], conversation: null });
    backend.mentionRows = [
      { entry_id: 'e1', ticket_id: 't1042', ticket_number: 1042, subject: 'Refund not received', by_agent_id: 'a1',
        body: '@Alice can you call them?', at: new Date().toISOString(), read: false },
      { entry_id: 'e0', ticket_id: 't1042', ticket_number: 1042, subject: 'Refund not received', by_agent_id: null,
        body: 'older', at: new Date().toISOString(), read: true },
    ];
    const { container } = render(App, { backend });
    await waitFor(() => expect(container.querySelector('[data-count=mentions]')?.textContent).toBe('1'));
    await fireEvent.click(container.querySelector('[data-nav=mentions]')!);
    await waitFor(() => expect(container.querySelectorAll('[data-testid=mentions] li')).toHaveLength(2));
    expect(container.querySelector('[data-mention=e1]')?.className).toContain('unread');
    expect(container.querySelector('[data-mention=e1]')?.textContent).toContain('#1042');
    await fireEvent.click(container.querySelector('[data-mention=e1] a')!);
    await waitFor(() => expect(container.querySelector('[data-testid=ticket-subject]')?.textContent).toContain('#1042'));
  });

  it('loads the reports page when it is first opened', async () => {
    const backend = new MockBackend({ server: 'http://x', agent: alice, demo: false, token_in_keyring: true }, [row(1001, 'First')]);
    const { container } = render(App, { backend });
    await screen.findByText('First');
    await fireEvent.click(container.querySelector('a[data-nav=reports]') as HTMLElement);
    expect(await screen.findByRole('heading', { name: 'SLA compliance' })).toBeTruthy();
  });

  it('shows the restore notice the sync engine sends once, until dismissed', async () => {
    const backend = new MockBackend({ server: 'http://x', agent: alice, demo: false, token_in_keyring: true }, []);
    const { container } = render(App, { backend });
    await waitFor(() => expect(backend.statusHandler).not.toBeNull());
    const status = { connection: 'online' as const, error: null, last_sync_at: null, pending: 0, problems: 0, clock_offset_ms: 0, download: null };
    const text = 'The server was restored from a backup; 5 of your changes were sent again.';
    backend.statusHandler?.({ ...status, notice: text });
    expect((await screen.findByRole('status')).textContent).toContain(text);
    // Later statuses carry no notice: it stays until the agent dismisses it.
    backend.statusHandler?.({ ...status, notice: null });
    await waitFor(() => expect(container.querySelector('[data-testid=notice]')?.textContent).toContain(text));
    await fireEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
    await waitFor(() => expect(container.querySelector('[data-testid=notice]')).toBeNull());
  });

  it('shows how far a first download is while it runs, and nothing once it ends', async () => {
    const backend = new MockBackend({ server: 'http://x', agent: alice, demo: false, token_in_keyring: true }, []);
    const { container } = render(App, { backend });
    await waitFor(() => expect(backend.statusHandler).not.toBeNull());
    const status = { connection: 'syncing' as const, error: null, last_sync_at: null, pending: 0, problems: 0, clock_offset_ms: 0, notice: null };
    // Sent until shown: the sidebar's first load may land after it.
    await waitFor(() => {
      backend.statusHandler?.({ ...status, download: { rows: 115_000, total: 460_000 } });
      expect(container.querySelector('[data-testid=download]')?.textContent).toContain('(25%)');
    });
    const bar = container.querySelector('[data-testid=download] progress') as HTMLProgressElement;
    expect([bar.value, bar.max]).toEqual([115_000, 460_000]);
    backend.statusHandler?.({ ...status, connection: 'online', download: null });
    await waitFor(() => expect(container.querySelector('[data-testid=download]')).toBeNull());
  });

  it("asks before signing out, and removes this computer's copy only when ticked", async () => {
    const backend = new MockBackend({ server: 'http://x', agent: alice, demo: false, token_in_keyring: true }, []);
    const { container } = render(App, { backend });
    const dialog = () => container.querySelector('[data-testid=sign-out-dialog]') as HTMLDialogElement;
    await fireEvent.click(await screen.findByRole('button', { name: 'Sign out' }));
    expect(dialog().open).toBe(true);
    await fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(dialog().open).toBe(false);
    expect(backend.signOuts).toEqual([]);
    await fireEvent.click(screen.getByRole('button', { name: 'Sign out' }));
    await fireEvent.click(screen.getByLabelText(/remove this computer's copy/));
    expect(dialog().textContent).toContain('deleted');
    await fireEvent.click(container.querySelector('[data-action=confirm-sign-out]') as HTMLElement);
    await waitFor(() => expect(backend.signOuts).toEqual([true]));
    expect(await screen.findByLabelText('Email')).toBeTruthy();
  });

  it('goes back and forward through views, tickets and conversations, filters kept', async () => {
    const backend = new MockBackend({ server: 'http://x', agent: alice, demo: false, token_in_keyring: true },
      [row(1042, 'Refund not received', { id: 't1042' })]);
    backend.tickets_.set('t1042', { ticket: row(1042, 'Refund not received', { id: 't1042' }), activity: [], conversation: null });
    backend.inboxRows = [inboxRow(1, 'Casey Jones'), inboxRow(2, 'Dana Fox', { assignee_id: alice.id })];
    const { container } = render(App, { backend });
    // The inbox in the sidebar, with its counts.
    await waitFor(() => expect(container.querySelector('[data-inbox-count=unassigned]')?.textContent).toBe('1'));
    expect(container.querySelector('[data-inbox-count=all]')?.textContent).toBe('2');
    const back = () => container.querySelector('button[data-action=back]') as HTMLButtonElement;
    expect(back().disabled).toBe(true);
    // All Tickets, searched; then a ticket; Alt+← returns to the search.
    await fireEvent.click(container.querySelector('a[data-view=all]') as HTMLElement);
    const search = await screen.findByLabelText('Search') as HTMLInputElement;
    await fireEvent.input(search, { target: { value: 'refund' } });
    await waitFor(() => expect(backend.queries.at(-1)?.search).toBe('refund'));
    await fireEvent.click(await screen.findByText('Refund not received'));
    await waitFor(() => expect(container.querySelector('[data-testid=ticket-subject]')?.textContent).toContain('#1042'));
    await fireEvent.keyDown(window, { key: 'ArrowLeft', altKey: true });
    await waitFor(() => expect((screen.getByLabelText('Search') as HTMLInputElement).value).toBe('refund'));
    expect(backend.queries.at(-1)).toMatchObject({ view: 'all', search: 'refund' });
    // Forward to the ticket again, with the button; Back with the mouse's back button.
    await fireEvent.click(container.querySelector('button[data-action=forward]') as HTMLElement);
    await waitFor(() => expect(container.querySelector('[data-testid=ticket-subject]')).not.toBeNull());
    await fireEvent.mouseUp(window, { button: 3 });
    await waitFor(() => expect(container.querySelector('[data-testid=ticket-list]')).not.toBeNull());
    // Ctrl+K opens the palette; a view picked there is a place in the history too.
    await fireEvent.keyDown(window, { key: 'k', ctrlKey: true });
    const box = await screen.findByLabelText('Command');
    await fireEvent.input(box, { target: { value: 'unassigned' } });
    await waitFor(() => expect(container.querySelector('[role=option]')?.textContent).toContain('Inbox: Unassigned'));
    await fireEvent.keyDown(box, { key: 'Enter' });
    await waitFor(() => expect(container.querySelector('[data-testid=inbox]')?.getAttribute('data-view')).toBe('unassigned'));
    expect(container.querySelectorAll('[data-testid=inbox] li')).toHaveLength(1);
    expect(container.querySelector('[data-testid=palette]')).toBeNull();
  });
});

describe('a fyncall:// link', () => {
  it('opens the ticket it names when the app starts with it', async () => {
    const backend = new MockBackend({ server: 'http://x', agent: alice, demo: false, token_in_keyring: true }, []);
    backend.tickets_.set('t1042', { ticket: row(1042, 'Refund not received', { id: 't1042' }), activity: [], conversation: null });
    backend.link = '#1042';
    const { container } = render(App, { backend });
    await waitFor(() => expect(container.querySelector('[data-testid=ticket-subject]')?.textContent).toContain('#1042'));
    // Taken once: Back returns to the first view.
    expect(backend.link).toBeNull();
    await fireEvent.click(container.querySelector('button[data-action=back]') as HTMLElement);
    await waitFor(() => expect(container.querySelector('[data-testid=ticket-list]')).not.toBeNull());
  });
});

describe('the history', () => {
  it('drops the places ahead on a new move, and staying put is no move', () => {
    const nav = new Nav({ kind: 'view', view: 'mine' });
    nav.go({ kind: 'ticket', id: 't1' });
    nav.go({ kind: 'ticket', id: 't1' });
    nav.go({ kind: 'conversation', id: 'c1' });
    expect(nav.back()).toBe(true);
    expect(nav.route).toEqual({ kind: 'ticket', id: 't1' });
    nav.memo.scroll = 300;
    nav.go({ kind: 'view', view: 'all' });
    expect(nav.canForward).toBe(false);
    nav.back();
    expect(nav.memo.scroll).toBe(300);
    nav.back();
    expect(nav.route).toEqual({ kind: 'view', view: 'mine' });
    expect(nav.back()).toBe(false);
    expect(nav.forward()).toBe(true);
    nav.reset({ kind: 'settings' });
    expect(nav.canBack || nav.canForward).toBe(false);
  });
});
