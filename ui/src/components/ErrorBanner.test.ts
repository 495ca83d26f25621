import { describe, expect, it } from 'vitest';
import { fireEvent, render } from '@testing-library/svelte';
import ErrorBanner from './ErrorBanner.svelte';
import { MockBackend, withDesk } from '../mock-backend';

function show(error: unknown, onRetry?: () => void) {
  const backend = new MockBackend(null);
  const { desk, context } = withDesk(backend);
  const view = render(ErrorBanner, { props: { error, onRetry }, context });
  return { backend, desk, ...view };
}

describe('the error banner acts on the error code', () => {
  it('shows nothing without an error', () => {
    const { container } = show(null);
    expect(container.querySelector('[role=alert]')).toBeNull();
  });

  it('a refusal shows the rule\'s words, nothing to press', () => {
    const { container } = show({ code: 'refused', message: 'refused', refusal: { code: 'invalid_transition', message: 'merged into #42: reopen #42', fields: {}, current: {} } });
    const alert = container.querySelector('[role=alert]') as HTMLElement;
    expect(alert.dataset.code).toBe('refused');
    expect(alert.textContent).toContain('merged into #42: reopen #42');
    expect(alert.querySelector('button')).toBeNull();
  });

  it('a session that is gone offers to sign in again', async () => {
    const { container, backend, desk } = show({ code: 'unauthorized', message: 'your session ended: sign in again' });
    await fireEvent.click(container.querySelector('button[data-action=sign-in-again]') as HTMLButtonElement);
    expect(backend.signOuts).toEqual([false]);
    expect(desk.session).toBeNull();
  });

  it('an unreachable server offers to try again when the page can', async () => {
    let asked = 0;
    const { container } = show({ code: 'unreachable', message: 'the server cannot be reached' }, () => asked++);
    await fireEvent.click(container.querySelector('button[data-action=retry]') as HTMLButtonElement);
    expect(asked).toBe(1);
    const none = show({ code: 'unreachable', message: 'the server cannot be reached' });
    expect(none.container.querySelector('button[data-action=retry]')).toBeNull();
  });

  it('plain words and errors show as they are', () => {
    expect(show('disk full').container.textContent).toContain('disk full');
    expect(show(new Error('boom')).container.textContent).toContain('boom');
  });
});
