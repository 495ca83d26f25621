import { describe, expect, it } from 'vitest';
import { fireEvent, render, waitFor } from '@testing-library/svelte';
import InboxList from './InboxList.svelte';
import { MockBackend, alice, inboxRow, withDesk } from '../mock-backend';
import { Memo } from '../lib/nav.svelte';

function props(backend: MockBackend, memo = new Memo(), view: 'unassigned' | 'mine' | 'all' = 'all', onOpen = (_: string) => {}) {
  return { props: { view, title: 'Inbox', memo, onOpen }, context: withDesk(backend, { agents: [alice] }).context };
}

const rows = (c: HTMLElement) => [...c.querySelectorAll('[data-testid=inbox] li')];

describe('the inbox', () => {
  it('lists conversations with customer, channel, last message, assignee and open tickets', async () => {
    const backend = new MockBackend(null);
    backend.inboxRows = [
      inboxRow(1, 'Dana Fox', { assignee_id: alice.id, open_ticket_count: 2, channel: 'email',
        last_message: { author: 'ai', body: 'I have escalated this' } }),
      inboxRow(2, 'Eli Gray', { last_message: null }),
    ];
    const { container } = render(InboxList, props(backend));
    await waitFor(() => expect(rows(container)).toHaveLength(2));
    const [dana, eli] = rows(container);
    expect(dana.textContent).toContain('Dana Fox');
    expect(dana.textContent).toContain('dana@example.com');
    expect(dana.textContent).toContain('email');
    expect(dana.textContent).toContain('AI: I have escalated this');
    expect(dana.textContent).toContain('Alice Moreau');
    expect(dana.querySelector('[data-testid=open-tickets]')?.textContent).toBe('2 open');
    expect(eli.textContent).toContain('No message yet');
    expect(eli.textContent).toContain('Unassigned');
    expect(eli.querySelector('[data-testid=open-tickets]')).toBeNull();
    // An envelope marks an email conversation.
    expect(dana.querySelector('[data-testid=envelope]')).not.toBeNull();
    expect(eli.querySelector('[data-testid=envelope]')).toBeNull();
    expect(container.querySelector('[data-testid=inbox-total]')?.textContent).toBe('2');
  });

  it('asks the backend for the view and the search, and remembers the search', async () => {
    const backend = new MockBackend(null);
    backend.inboxRows = [inboxRow(1, 'Dana Fox'), inboxRow(2, 'Eli Gray', { assignee_id: alice.id })];
    const memo = new Memo();
    const { container } = render(InboxList, props(backend, memo, 'unassigned'));
    await waitFor(() => expect(rows(container)).toHaveLength(1));
    expect(backend.inboxQueries[0]).toMatchObject({ view: 'unassigned', search: null, cursor: null });
    const box = container.querySelector('input[aria-label="Search conversations"]') as HTMLInputElement;
    await fireEvent.input(box, { target: { value: 'gray' } });
    await waitFor(() => expect(backend.inboxQueries.at(-1)?.search).toBe('gray'));
    expect(memo.filters.search).toBe('gray');
  });

  it('pages with the cursor and opens a row with Enter', async () => {
    const backend = new MockBackend(null);
    backend.inboxRows = Array.from({ length: 120 }, (_, i) => inboxRow(i, `Customer ${i}`));
    const opened: string[] = [];
    const { container } = render(InboxList, props(backend, new Memo(), 'all', (id) => opened.push(id)));
    await waitFor(() => expect(rows(container)).toHaveLength(50));
    (container.querySelector('p button') as HTMLButtonElement).click();
    await waitFor(() => expect(rows(container)).toHaveLength(100));
    expect(backend.inboxQueries.at(-1)?.cursor).toBe('50');
    await fireEvent.keyDown(window, { key: 'j' });
    await fireEvent.keyDown(window, { key: 'Enter' });
    expect(opened).toEqual(['c1']);
  });

  it('reads as many rows as were shown when it is come back to', async () => {
    const backend = new MockBackend(null);
    backend.inboxRows = Array.from({ length: 120 }, (_, i) => inboxRow(i, `Customer ${i}`));
    const memo = new Memo();
    memo.shown = 100;
    const { container } = render(InboxList, props(backend, memo));
    await waitFor(() => expect(rows(container)).toHaveLength(100));
  });

  it('windows a long inbox: rows near the visible part only, the height kept', async () => {
    const height = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'offsetHeight');
    Object.defineProperty(HTMLElement.prototype, 'offsetHeight', {
      configurable: true, get() { return (this as HTMLElement).tagName === 'LI' ? 50 : 0; },
    });
    try {
      const pane = document.createElement('div');
      pane.className = 'main';
      let top = 0;
      Object.defineProperty(pane, 'clientHeight', { configurable: true, get: () => 500 });
      Object.defineProperty(pane, 'scrollTop', { configurable: true, get: () => top, set: (v: number) => { top = v; } });
      document.body.appendChild(pane);
      const backend = new MockBackend(null);
      backend.inboxRows = Array.from({ length: 400 }, (_, i) => inboxRow(i, `Customer ${i}`));
      const memo = new Memo();
      memo.shown = 300;
      const { container } = render(InboxList, { target: pane, ...props(backend, memo) });
      const drawn = () => [...container.querySelectorAll('li[data-conversation]')];
      await waitFor(() => expect(drawn().length).toBeGreaterThan(0));
      await waitFor(() => expect(drawn().length).toBeLessThan(300));
      const spacer = container.querySelector('li.spacer') as HTMLElement;
      expect(spacer.style.height).toBe(`${(300 - drawn().length) * 50}px`);
      pane.scrollTop = 10000;
      pane.dispatchEvent(new Event('scroll'));
      await waitFor(() => expect(drawn().some((r) => r.getAttribute('data-conversation') === 'c200')).toBe(true));
      expect(drawn().some((r) => r.getAttribute('data-conversation') === 'c0')).toBe(false);
      pane.remove();
    } finally {
      if (height) Object.defineProperty(HTMLElement.prototype, 'offsetHeight', height);
    }
  });
});
