import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import SettingsPage from './SettingsPage.svelte';
import { MockBackend, alice, withDesk } from '../mock-backend';

const signedIn = { server: 'https://x', agent: alice, demo: false, token_in_keyring: true };

describe('the settings page', () => {
  it('lists the sessions with this device marked and signs out the others', async () => {
    const backend = new MockBackend(signedIn);
    const { container } = render(SettingsPage, { context: withDesk(backend).context });
    await waitFor(() => expect(container.querySelectorAll('[data-session]')).toHaveLength(2));
    const mine = container.querySelector('[data-session=s1]');
    expect(mine?.querySelector('[data-testid=this-device]')?.textContent).toBe('This device');
    expect(mine?.querySelector('button')).toBeNull();
    expect(container.querySelector('[data-session=s2]')?.textContent).toContain('(laptop)');
    await fireEvent.click(screen.getByRole('button', { name: 'Sign out other devices' }));
    await waitFor(() => expect(container.querySelectorAll('[data-session]')).toHaveLength(1));
    expect(screen.getByRole('status').textContent).toBe('1 other session ended.');
    expect((screen.getByRole('button', { name: 'Sign out other devices' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('changes the password only when the new one is typed twice and long enough', async () => {
    const backend = new MockBackend(signedIn);
    render(SettingsPage, { context: withDesk(backend).context });
    const type = async (current: string, next: string, again: string) => {
      await fireEvent.input(screen.getByLabelText('Current password'), { target: { value: current } });
      await fireEvent.input(screen.getByLabelText(/^New password \(12/), { target: { value: next } });
      await fireEvent.input(screen.getByLabelText('New password again'), { target: { value: again } });
      await fireEvent.click(screen.getByRole('button', { name: 'Change password' }));
    };
    await type('right', 'a long new passphrase', 'a long new passphrase!');
    expect((await screen.findByRole('alert')).textContent).toBe('The two new passwords differ.');
    await type('right', 'too short', 'too short');
    expect((await screen.findByRole('alert')).textContent).toContain('at least 12 characters');
    await type('wrong', 'a long new passphrase', 'a long new passphrase');
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('the current password is not right'));
    expect(backend.passwordChanges).toHaveLength(0);
    await type('right', 'a long new passphrase', 'a long new passphrase');
    await waitFor(() => expect(backend.passwordChanges).toEqual([['right', 'a long new passphrase']]));
    expect((await screen.findByText(/Password changed/)).textContent).toContain('Every other session');
  });

  it('keeps quiet hours in this computer\'s zone, with urgent breaches off by default', async () => {
    const backend = new MockBackend(signedIn);
    const { container } = render(SettingsPage, { context: withDesk(backend).context });
    const on = await waitFor(() => container.querySelector('[data-pref=quiet]') as HTMLInputElement);
    expect(on.checked).toBe(false);
    await fireEvent.click(on);
    await waitFor(() => expect(backend.prefs['notify.quiet.from']).toBe('22:00'));
    expect(backend.prefs['notify.quiet.to']).toBe('07:00');
    expect(backend.prefs['notify.quiet.zone']).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    const through = await waitFor(() => container.querySelector('[data-pref="notify.quiet.urgent_breaches"]') as HTMLInputElement);
    expect(through.checked).toBe(false);
    await fireEvent.change(container.querySelector('[data-field=quiet-from]')!, { target: { value: '21:30' } });
    await waitFor(() => expect(backend.prefs['notify.quiet.from']).toBe('21:30'));
    await fireEvent.click(through);
    await waitFor(() => expect(backend.prefs['notify.quiet.urgent_breaches']).toBe('on'));
    await fireEvent.click(container.querySelector('[data-pref=quiet]')!);
    await waitFor(() => expect(backend.prefs['notify.quiet.from']).toBe(''));
  });

  it('says the versions and copies diagnostic info', async () => {
    const backend = new MockBackend(signedIn);
    let copied = '';
    Object.defineProperty(navigator, 'clipboard', { value: { writeText: async (t: string) => { copied = t; } }, configurable: true });
    render(SettingsPage, { context: withDesk(backend).context });
    await waitFor(() => expect(screen.getByTestId('about').textContent).toBe('Fyncall Desk 0.1.0; server https://x (fyncall-server 0.1.0)'));
    await fireEvent.click(screen.getByRole('button', { name: 'Copy diagnostic info' }));
    await waitFor(() => expect(screen.getByTestId('diagnostics-note').textContent).toContain('Copied'));
    expect(copied).toContain('Fyncall Desk 0.1.0');
  });
});
