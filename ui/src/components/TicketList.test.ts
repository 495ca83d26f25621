import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import TicketList from './TicketList.svelte';
import { MockBackend, alice, row } from '../mock-backend';

const many = (n: number) => Array.from({ length: n }, (_, i) => row(1000 + i, `Ticket ${i}`));

function props(backend: MockBackend, refresh = 0, view: 'all' | 'mine' = 'all') {
  return {
    backend, view, title: 'All Tickets', serverNow: Date.now(), agents: new Map([[alice.id, alice]]),
    refresh, onOpen: () => {}, searchFocus: 0,
  };
}

const shown = (c: HTMLElement) => c.querySelectorAll('[data-testid=ticket-list] tbody tr').length;

describe('the ticket list', () => {
  it('loads a view once, a page at a time, and says which view it shows', async () => {
    const backend = new MockBackend(null, many(250));
    const { container } = render(TicketList, props(backend));
    await waitFor(() => expect(shown(container)).toBe(100));
    expect(container.querySelector('[data-testid=ticket-list]')?.getAttribute('data-view')).toBe('all');
    expect(container.querySelector('[data-testid=total]')?.textContent).toBe('250');
    // Rendering the rows is no reason to ask again.
    await new Promise((r) => setTimeout(r, 50));
    expect(backend.queries).toHaveLength(1);
    expect(backend.queries[0]).toMatchObject({ limit: 100, cursor: null, with_total: true });
  });

  it('keeps every row shown when a live change re-reads the list', async () => {
    const backend = new MockBackend(null, many(250));
    const { container, rerender } = render(TicketList, props(backend));
    await waitFor(() => expect(shown(container)).toBe(100));
    (container.querySelector('button') as HTMLButtonElement | null)?.click();
    await waitFor(() => expect(shown(container)).toBe(200));
    const before = backend.queries.length;
    await rerender(props(backend, 1));
    await waitFor(() => expect(backend.queries.length).toBeGreaterThan(before));
    await new Promise((r) => setTimeout(r, 20));
    expect(shown(container)).toBe(200);
    // The re-read asked for as many rows as were shown.
    const reread = backend.queries.slice(before);
    expect(reread.reduce((n, q) => n + q.limit, 0)).toBe(200);
  });

  it('starts a new view from its first page', async () => {
    const backend = new MockBackend(null, many(250));
    const { container, rerender } = render(TicketList, props(backend));
    await waitFor(() => expect(shown(container)).toBe(100));
    (container.querySelector('button') as HTMLButtonElement | null)?.click();
    await waitFor(() => expect(shown(container)).toBe(200));
    await rerender(props(backend, 0, 'mine'));
    await waitFor(() =>
      expect(container.querySelector('[data-testid=ticket-list]')?.getAttribute('data-view')).toBe('mine'));
    expect(shown(container)).toBe(100);
    expect(backend.queries.at(-1)).toMatchObject({ view: 'mine', limit: 100, cursor: null });
  });

  it('asks for the archive: closed only, or any status with closed ones too', async () => {
    const backend = new MockBackend(null, many(3));
    render(TicketList, props(backend));
    await waitFor(() => expect(backend.queries).toHaveLength(1));
    expect(backend.queries[0].status).toEqual([]);
    const select = screen.getByLabelText('Status');
    await fireEvent.change(select, { target: { value: 'closed' } });
    await waitFor(() => expect(backend.queries.at(-1)?.status).toEqual(['closed']));
    await fireEvent.change(select, { target: { value: 'any' } });
    await waitFor(() => expect(backend.queries.at(-1)?.status).toEqual(
      ['open', 'in_progress', 'waiting_on_customer', 'resolved', 'closed']));
  });

  it('filters by created and updated days, both ends counted whole, and sorts by created', async () => {
    const backend = new MockBackend(null, many(3));
    const { container } = render(TicketList, props(backend));
    await waitFor(() => expect(backend.queries).toHaveLength(1));
    await fireEvent.input(screen.getByLabelText('Created from'), { target: { value: '2026-11-02' } });
    await fireEvent.input(screen.getByLabelText('Created to'), { target: { value: '2026-11-03' } });
    await fireEvent.input(screen.getByLabelText('Updated to'), { target: { value: '2026-11-30' } });
    await waitFor(() => expect(backend.queries.at(-1)?.updated_to).not.toBeNull());
    const q = backend.queries.at(-1);
    expect(q?.created_from).toBe(new Date('2026-11-02T00:00:00').toISOString());
    expect(q?.created_to).toBe(new Date('2026-11-03T23:59:59.999').toISOString());
    expect(q?.updated_from).toBeNull();
    await fireEvent.click([...container.querySelectorAll('th')].find((th) => th.textContent === 'Created') as HTMLElement);
    await waitFor(() => expect(backend.queries.at(-1)?.sort).toEqual(['created', 'asc']));
  });
});
