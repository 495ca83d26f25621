import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import AdminPage from './AdminPage.svelte';
import App from '../App.svelte';
import { MockBackend, alice, withDesk } from '../mock-backend';
import type { Agent } from '../generated/Agent';

const admin: Agent = { ...alice, role: 'admin' };
const signedIn = { server: 'https://x', agent: admin, demo: false, token_in_keyring: true };

function online(backend: MockBackend, connection: 'online' | 'offline' = 'online') {
  const { desk, context } = withDesk(backend, { me: admin });
  desk.status = { connection, error: null, last_sync_at: null, pending: 0, problems: 0, clock_offset_ms: 0, notice: null, download: null };
  return context;
}

describe('the admin console', () => {
  it('is in the sidebar for admins only', async () => {
    const asAgent = render(App, { backend: new MockBackend({ ...signedIn, agent: alice }) });
    await waitFor(() => expect(asAgent.container.querySelector('[data-nav=reports]')).not.toBeNull());
    expect(asAgent.container.querySelector('[data-nav=admin]')).toBeNull();
    asAgent.unmount();
    const asAdmin = render(App, { backend: new MockBackend(signedIn) });
    await waitFor(() => expect(asAdmin.container.querySelector('[data-nav=admin]')).not.toBeNull());
  });

  it('adds an agent only with what the server would accept, and shows its refusal at the field', async () => {
    const backend = new MockBackend(signedIn);
    const { container } = render(AdminPage, { context: online(backend) });
    await waitFor(() => expect(container.querySelectorAll('[data-agent]')).toHaveLength(2));
    const type = async (name: string, email: string, password: string) => {
      await fireEvent.input(container.querySelector('[data-field=name]')!, { target: { value: name } });
      await fireEvent.input(container.querySelector('[data-field=email]')!, { target: { value: email } });
      await fireEvent.input(container.querySelector('[data-field=password]')!, { target: { value: password } });
      await fireEvent.click(screen.getByRole('button', { name: 'Add agent' }));
    };
    await type('Dana', 'dana-at-example', 'short');
    expect(container.querySelector('[data-error=email]')?.textContent).toContain('name@example.com');
    expect(container.querySelector('[data-error=password]')?.textContent).toContain('12 to 1,000');
    expect(backend.staff).toHaveLength(2);
    await type('Ben again', 'ben@example.com', 'twelve chars ok');
    await waitFor(() => expect(container.querySelector('[data-error=email]')?.textContent).toBe('an agent with that email exists'));
    await type('Dana Reyes', 'dana@example.com', 'twelve chars ok');
    await waitFor(() => expect(container.querySelectorAll('[data-agent]')).toHaveLength(3));
    expect(screen.getByRole('status').textContent).toContain('Dana Reyes can now sign in');
    await fireEvent.click(container.querySelector('[data-agent="dana@example.com"] [data-action=deactivate]')!);
    await waitFor(() => expect(container.querySelector('[data-agent="dana@example.com"]')?.textContent).toContain('Deactivated'));
  });

  it('shows a new integration token once, with a copy button, and revokes', async () => {
    const backend = new MockBackend(signedIn);
    const { container } = render(AdminPage, { context: online(backend) });
    await fireEvent.click(container.querySelector('[data-section=tokens]')!);
    await waitFor(() => expect(container.querySelector('[data-token="chat platform"]')).not.toBeNull());
    await fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    expect(container.querySelector('#e-token-name')?.textContent).toContain('name the token');
    await fireEvent.input(container.querySelector('[data-field=token-name]')!, { target: { value: 'help widget' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    await waitFor(() => expect(screen.getByTestId('token-secret').textContent).toBe('fyk_secret_shown_once'));
    expect(container.querySelector('[data-token="help widget"]')).not.toBeNull();
    expect(container.querySelector('[data-testid=admin-tokens]')?.textContent).not.toContain('fyk_secret');
    await fireEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(screen.queryByTestId('token-secret')).toBeNull();
    await fireEvent.click(container.querySelector('[data-token="chat platform"] [data-action=revoke]')!);
    await waitFor(() => expect(container.querySelector('[data-token="chat platform"]')).toBeNull());
  });

  it('sets business hours with pasted holidays, counts normal in them, previews, and saves', async () => {
    const backend = new MockBackend(signedIn);
    const { container } = render(AdminPage, { context: online(backend) });
    await fireEvent.click(container.querySelector('[data-section=hours]')!);
    const use = await waitFor(() => container.querySelector('[data-field=use-calendar]') as HTMLInputElement);
    await fireEvent.click(use);
    await waitFor(() => expect(container.querySelector('[data-field=time-zone]')).not.toBeNull());
    await fireEvent.input(container.querySelector('[data-field=time-zone]')!, { target: { value: 'Europe/Berlin' } });
    await fireEvent.input(container.querySelector('[data-field=paste-holidays]')!, { target: { value: '2026-12-25\n26.12.2026\n2027-01-01\n' } });
    await fireEvent.click(container.querySelector('[data-action=import-holidays]')!);
    expect([...container.querySelectorAll('[data-testid=holidays] li')].map((li) => li.textContent?.slice(0, 10))).toEqual(['2026-12-25', '2027-01-01']);
    expect((container.querySelector('[data-field=paste-holidays]') as HTMLTextAreaElement).value).toBe('26.12.2026');
    // The draft lives on across tabs.
    await fireEvent.click(container.querySelector('[data-section=sla]')!);
    await fireEvent.change(container.querySelector('[data-field=normal-hours]')!, { target: { value: 'business_hours' } });
    await waitFor(() => expect(screen.getByTestId('preview').textContent).toContain('3 tickets become at risk, 1 breached'));
    await fireEvent.click(screen.getByRole('button', { name: 'Save settings' }));
    await waitFor(() => expect(screen.getByTestId('saved-note').textContent).toContain('Saved'));
    expect(backend.teamSettings.calendar?.time_zone).toBe('Europe/Berlin');
    expect(backend.teamSettings.calendar?.holidays).toEqual(['2026-12-25', '2027-01-01']);
    expect(backend.teamSettings.calendar?.weekly.mon).toEqual([{ from: '09:00', to: '17:00' }]);
    expect(backend.teamSettings.sla_policy.normal.hours).toBe('business_hours');
  });

  it('keeps a team macro: a text with placeholders and actions, as the server wants them', async () => {
    const backend = new MockBackend(signedIn);
    const { container } = render(AdminPage, { context: online(backend) });
    await fireEvent.click(container.querySelector('[data-section=macros]')!);
    await fireEvent.click(await waitFor(() => container.querySelector('[data-action=new-macro]') as HTMLButtonElement));
    await fireEvent.input(container.querySelector('[data-field=macro-name]')!, { target: { value: 'Refund sent' } });
    await fireEvent.change(container.querySelector('[data-field=macro-text-kind]')!, { target: { value: 'reply' } });
    await fireEvent.input(container.querySelector('[data-field=macro-text]')!, { target: { value: 'Hi {{customer.first_name}}' } });
    await fireEvent.click(container.querySelector('[data-action=add-step]')!);
    await fireEvent.click(container.querySelector('[data-action=add-step]')!);
    await fireEvent.change(screen.getByLabelText('Action 1'), { target: { value: 'status' } });
    await fireEvent.input(screen.getByLabelText('Value of action 1'), { target: { value: 'waiting_on_customer' } });
    await fireEvent.change(screen.getByLabelText('Action 2'), { target: { value: 'add_tags' } });
    await fireEvent.input(screen.getByLabelText('Value of action 2'), { target: { value: 'refund, vip' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save macro' }));
    await waitFor(() => expect(backend.macroList).toHaveLength(1));
    expect(backend.macroList[0]).toMatchObject({ name: 'Refund sent', scope: 'team', text: 'Hi {{customer.first_name}}', text_kind: 'reply',
      actions: [{ kind: 'status', value: 'waiting_on_customer' }, { kind: 'add_tags', value: ['refund', 'vip'] }] });
    await waitFor(() => expect(container.querySelector('[data-macro="Refund sent"]')).not.toBeNull());
  });

  it('sets how many days resolved tickets wait before they close on their own', async () => {
    const backend = new MockBackend(signedIn);
    const { container } = render(AdminPage, { context: online(backend) });
    await fireEvent.click(container.querySelector('[data-section=sla]')!);
    const days = await waitFor(() => container.querySelector('[data-field=auto-close]') as HTMLInputElement);
    expect(days.value).toBe('4');
    await fireEvent.input(days, { target: { value: '7' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save settings' }));
    await waitFor(() => expect(backend.teamSettings.auto_close_after_days).toBe(7));
  });

  it('retires a category, which leaves the pickers but stays listed', async () => {
    const backend = new MockBackend(signedIn);
    const { container } = render(AdminPage, { context: online(backend) });
    await fireEvent.click(container.querySelector('[data-section=categories]')!);
    await waitFor(() => expect(container.querySelector('[data-category=shipping]')).not.toBeNull());
    await fireEvent.click(container.querySelector('[data-category=shipping] [data-action=retire]')!);
    expect(container.querySelector('[data-retired=shipping]')).not.toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Save settings' }));
    await waitFor(() => expect(backend.teamSettings.retired_categories).toEqual(['shipping']));
    expect(backend.teamSettings.categories).toEqual(['billing', 'technical']);
  });

  it('adds a webhook with its secret shown once, pauses it, and sends a failed delivery again', async () => {
    const backend = new MockBackend(signedIn);
    const { container } = render(AdminPage, { context: online(backend) });
    await fireEvent.click(container.querySelector('[data-section=webhooks]')!);
    await waitFor(() => expect(container.querySelector('[data-webhook="https://chat.example.com/hooks/fyncall"]')).not.toBeNull());
    // A refusal comes back at its field.
    await fireEvent.input(container.querySelector('[data-field=webhook-url]')!, { target: { value: 'http://203.0.113.9/hook' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Add webhook' }));
    await waitFor(() => expect(container.querySelector('#e-webhook-url')?.textContent).toContain('https://'));
    await fireEvent.input(container.querySelector('[data-field=webhook-url]')!, { target: { value: 'https://crm.example.com/in' } });
    await fireEvent.click(container.querySelector('[data-event="ticket.created"]')!);
    await fireEvent.click(screen.getByRole('button', { name: 'Add webhook' }));
    await waitFor(() => expect(screen.getByTestId('webhook-secret').textContent).toMatch(/^whsec_/));
    expect(backend.hooks.find((h) => h.url === 'https://crm.example.com/in')?.events).toEqual(['message.created', 'ticket.created']);
    const first = '[data-webhook="https://chat.example.com/hooks/fyncall"]';
    await fireEvent.click(container.querySelector(`${first} [data-action=webhook-pause]`)!);
    await waitFor(() => expect(container.querySelector(`${first} [data-testid=webhook-state]`)?.textContent).toContain('paused by Alice Moreau'));
    await fireEvent.click(container.querySelector(`${first} [data-action=webhook-log]`)!);
    await waitFor(() => expect(container.querySelectorAll('[data-testid=webhook-log] [data-delivery-id]')).toHaveLength(2));
    const failed = container.querySelector('[data-delivery-id=msg_2]')!;
    expect(failed.textContent).toContain('410 Gone');
    await fireEvent.click(failed.querySelector('[data-action=send-again]')!);
    await waitFor(() => expect(backend.sentAgain).toEqual(['msg_2']));
    await waitFor(() => expect(container.querySelector('[data-delivery-id=msg_2] [data-testid=delivery-state]')?.textContent).toContain('retrying'));
    // Two attempts of the one that got through: the 500, then the 200.
    expect(container.querySelectorAll('[data-delivery-id=msg_1] .attempts li')).toHaveLength(2);
  });

  it('sets up a mailbox, never shows its passwords, checks it and says what failed in words', async () => {
    const backend = new MockBackend(signedIn);
    const { container } = render(AdminPage, { context: online(backend) });
    await fireEvent.click(container.querySelector('[data-section=mailboxes]')!);
    await waitFor(() => expect(container.querySelectorAll('[data-mailbox]')).toHaveLength(1));
    expect(container.querySelector('[data-mailbox="support@example.com"] [data-testid=mailbox-state]')?.textContent)
      .toContain('Reading (waits for new mail)');
    const type = async (field: string, value: string) =>
      fireEvent.input(container.querySelector(`[data-field=${field}]`)!, { target: { value } });
    await type('mailbox-address', 'sales@example.com');
    await type('mailbox-name', 'Example Sales');
    await type('imap-host', 'imap.example.com');
    await type('imap-username', 'sales@example.com');
    await type('smtp-host', 'smtp.example.com');
    await type('smtp-username', 'sales@example.com');
    // Without passwords: said, nothing sent.
    await fireEvent.click(container.querySelector('[data-action=save-mailbox]')!);
    await screen.findByText('give both passwords (an app password where the account has two-step sign-in)');
    expect(backend.boxes).toHaveLength(1);
    await type('imap-password', 'imap-pw');
    await type('smtp-password', 'smtp-pw');
    await fireEvent.click(container.querySelector('[data-action=save-mailbox]')!);
    await waitFor(() => expect(container.querySelectorAll('[data-mailbox]')).toHaveLength(2));
    expect(container.textContent).not.toContain('imap-pw');
    expect((container.querySelector('[data-field=imap-password]') as HTMLInputElement).value).toBe('');
    // A failing mailbox's check says what failed.
    backend.boxes[0].state = 'failing';
    backend.boxes[0].last_error = 'IMAP: cannot connect to imap.example.com:993: connection refused';
    await fireEvent.click(container.querySelector('[data-section=webhooks]')!);
    await fireEvent.click(container.querySelector('[data-section=mailboxes]')!);
    const first = await waitFor(() => {
      const row = container.querySelector('[data-mailbox="support@example.com"]');
      expect(row?.textContent).toContain('Failing');
      return row as HTMLElement;
    });
    expect(first.textContent).toContain('connection refused');
    await fireEvent.click(first.querySelector('[data-action=mailbox-check]')!);
    await waitFor(() => expect(first.querySelector('[data-testid=mailbox-check]')?.textContent)
      .toContain('IMAP: authentication failed for support@example.com'));
  });

  it('says it needs the server when offline and changes nothing', async () => {
    const backend = new MockBackend(signedIn);
    const { container } = render(AdminPage, { context: online(backend, 'offline') });
    expect(screen.getByTestId('admin-offline').textContent).toContain('needs the server');
    expect((screen.getByRole('button', { name: 'Add agent' }) as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.click(container.querySelector('[data-section=categories]')!);
    expect((screen.getByRole('button', { name: 'Save settings' }) as HTMLButtonElement).disabled).toBe(true);
  });
});
