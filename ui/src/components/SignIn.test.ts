import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import SignIn from './SignIn.svelte';
import { MockBackend, withDesk } from '../mock-backend';

async function fill(server: string) {
  await fireEvent.input(screen.getByLabelText('Server'), { target: { value: server } });
  await fireEvent.input(screen.getByLabelText('Email'), { target: { value: 'alice@example.com' } });
  await fireEvent.input(screen.getByLabelText('Password'), { target: { value: 'right' } });
}

describe('the sign-in form', () => {
  it('warns before plain HTTP to another computer and sends only with the box ticked', async () => {
    const backend = new MockBackend(null);
    const signedIn: unknown[] = [];
    const { container } = render(SignIn, { props: { onSignedIn: (s: unknown) => signedIn.push(s) }, context: withDesk(backend).context });
    await fill('http://10.0.0.5:8470');
    expect(container.querySelector('[data-testid=http-warning]')?.textContent).toContain('read your password');
    const button = screen.getByRole('button', { name: 'Sign in' }) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    await fireEvent.click(screen.getByLabelText(/sign in over plain HTTP anyway/));
    expect(button.disabled).toBe(false);
    await fireEvent.click(button);
    await screen.findByRole('button', { name: 'Sign in' });
    expect(backend.signInOptions.at(-1)).toEqual({ allowHttp: true, caFile: undefined });
    expect(signedIn).toHaveLength(1);
  });

  it('signs in to this computer over HTTP and to HTTPS with a CA file, without a warning', async () => {
    const backend = new MockBackend(null);
    const { container } = render(SignIn, { props: { onSignedIn: () => {} }, context: withDesk(backend).context });
    await fill('http://127.0.0.1:8470');
    expect(container.querySelector('[data-testid=http-warning]')).toBeNull();
    await fireEvent.input(screen.getByLabelText(/Certificate authority file/), { target: { value: ' /etc/team-ca.pem ' } });
    await fill('https://desk.example.com');
    expect(container.querySelector('[data-testid=http-warning]')).toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await screen.findByRole('button', { name: 'Sign in' });
    expect(backend.signIns.at(-1)?.[0]).toBe('https://desk.example.com');
    expect(backend.signInOptions.at(-1)).toEqual({ allowHttp: false, caFile: '/etc/team-ca.pem' });
  });
});
