import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import TicketList from './TicketList.svelte';
import { MockBackend, alice, row, withDesk } from '../mock-backend';
import type { Desk } from '../lib/desk.svelte';

const many = (n: number) => Array.from({ length: n }, (_, i) => row(1000 + i, `Ticket ${i}`));

const desks = new WeakMap<MockBackend, Desk>();

/** Render options: the list's props, and the app's state over `backend`. */
function props(backend: MockBackend, view: 'all' | 'mine' = 'all') {
  const { desk, context } = withDesk(backend, { agents: [alice] });
  desks.set(backend, desk);
  return { props: { view, title: 'All Tickets', onOpen: () => {}, searchFocus: 0 }, context };
}

const shown = (c: HTMLElement) => c.querySelectorAll('[data-testid=ticket-list] tbody tr').length;

describe('the ticket list', () => {
  it('gives a time cell its exact moment as a tooltip when the pointer comes to it', async () => {
    const backend = new MockBackend(null, many(3));
    const { container } = render(TicketList, props(backend));
    await waitFor(() => expect(shown(container)).toBe(3));
    const cell = container.querySelector('tbody tr td[data-column=updated]') as HTMLElement;
    expect(cell.title).toBe('');
    await fireEvent.pointerOver(cell);
    expect(cell.title).toMatch(/20\d\d/);
  });

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
    screen.getByRole('button', { name: 'Load more' }).click();
    await waitFor(() => expect(shown(container)).toBe(200));
    const before = backend.queries.length;
    desks.get(backend)!.refresh++;
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
    screen.getByRole('button', { name: 'Load more' }).click();
    await waitFor(() => expect(shown(container)).toBe(200));
    await rerender({ view: 'mine' });
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

  it('says any time until a range is chosen, then filters by it, a custom end day counted whole', async () => {
    const backend = new MockBackend(null, many(3));
    const { container } = render(TicketList, props(backend));
    await waitFor(() => expect(backend.queries).toHaveLength(1));
    const created = screen.getByRole('button', { name: /Created: any time/ });
    expect(screen.getByRole('button', { name: /Updated: any time/ })).toBeTruthy();
    expect(container.querySelector('.row input[type=date]')).toBeNull();
    await fireEvent.click(created);
    await fireEvent.click(screen.getByRole('button', { name: 'Last 7 days' }));
    await waitFor(() => expect(backend.queries.at(-1)?.created_from).not.toBeNull());
    const week = new Date();
    expect(backend.queries.at(-1)?.created_from).toBe(new Date(week.getFullYear(), week.getMonth(), week.getDate() - 6).toISOString());
    expect(screen.getByRole('button', { name: /Created: last 7 days/ })).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: /Updated: any time/ }));
    await fireEvent.change(screen.getByLabelText('Updated from'), { target: { value: '2026-11-02' } });
    await fireEvent.change(screen.getByLabelText('Updated to'), { target: { value: '2026-11-03' } });
    await waitFor(() => expect(backend.queries.at(-1)?.updated_to).not.toBeNull());
    const q = backend.queries.at(-1);
    expect(q?.updated_from).toBe(new Date('2026-11-02T00:00:00').toISOString());
    expect(q?.updated_to).toBe(new Date('2026-11-03T23:59:59.999').toISOString());
    await fireEvent.click([...container.querySelectorAll('th')].find((th) => th.textContent === 'Created') as HTMLElement);
    await waitFor(() => expect(backend.queries.at(-1)?.sort).toEqual(['created', 'asc']));
  });

  it('shows the columns the agent chose for this view, in their order, and keeps the choice', async () => {
    const backend = new MockBackend(null, many(3));
    await backend.setPreference('columns.all', 'updated|category,created');
    const { container } = render(TicketList, props(backend));
    const headings = () => [...container.querySelectorAll('th')].map((th) => th.textContent);
    await waitFor(() => expect(headings()).toEqual(['#', 'Subject', 'Status', 'Priority', 'Assignee', 'SLA', 'Updated']));
    await fireEvent.click(screen.getByRole('button', { name: /Columns/ }));
    await fireEvent.click(screen.getByRole('checkbox', { name: 'Category' }));
    await waitFor(() => expect(headings().at(-1)).toBe('Category'));
    await fireEvent.click(screen.getByRole('button', { name: 'Move Category left' }));
    await waitFor(() => expect(headings().slice(-2)).toEqual(['Category', 'Updated']));
    expect((await backend.preferences(['columns.all']))['columns.all']).toBe('category,updated|created');
    // Each row has a cell under each heading.
    await waitFor(() => expect(container.querySelector('tbody tr[data-ticket]')?.children.length).toBe(8));
  });

  it('windows a long list: only rows near the visible part are in the page', async () => {
    // jsdom lays nothing out: give rows a height and the pane a size.
    const height = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'offsetHeight');
    let laidOut = true;
    Object.defineProperty(HTMLElement.prototype, 'offsetHeight', {
      configurable: true, get() { return laidOut && (this as HTMLElement).tagName === 'TR' ? 30 : 0; },
    });
    try {
      const pane = document.createElement('div');
      pane.className = 'main';
      let top = 0;
      Object.defineProperty(pane, 'clientHeight', { configurable: true, get: () => 600 });
      Object.defineProperty(pane, 'scrollTop', { configurable: true, get: () => top, set: (v: number) => { top = v; } });
      document.body.appendChild(pane);
      const backend = new MockBackend(null, many(450));
      const { container } = render(TicketList, { target: pane, ...props(backend) });
      // The first page (100 rows): those in sight and a few more are drawn.
      await waitFor(() => expect(container.querySelector('[data-testid=total]')?.textContent).toBe('450'));
      await waitFor(() => expect(container.querySelectorAll('tbody tr[data-ticket]').length).toBeLessThan(50));
      expect(container.querySelectorAll('tbody tr[data-ticket]').length).toBeGreaterThanOrEqual(20);
      for (const want of [200, 300]) {
        (container.querySelector('p button') as HTMLButtonElement).click();
        await waitFor(() => expect(backend.queries.length).toBeGreaterThan(want / 100 - 1));
        await new Promise((r) => setTimeout(r, 20));
      }
      const rendered = () => [...container.querySelectorAll('tbody tr[data-ticket]')] as HTMLElement[];
      await waitFor(() => expect(rendered().length).toBeLessThan(300));
      expect(rendered()[0].getAttribute('aria-rowindex')).toBe('2');
      const spacer = container.querySelector('tbody tr.spacer') as HTMLElement;
      expect(spacer.style.height).toBe(`${(300 - rendered().length) * 30}px`);
      // Scrolled down, the rows there are in the page, the first ones not.
      pane.scrollTop = 6000;
      pane.dispatchEvent(new Event('scroll'));
      await waitFor(() => expect(rendered().some((r) => r.getAttribute('aria-rowindex') === '202')).toBe(true));
      expect(rendered().some((r) => r.getAttribute('aria-rowindex') === '2')).toBe(false);
      pane.remove();

      // Opened again, the list knows its heights: from its first frame it
      // draws the rows in sight (600 / 30 = 20) and a few beyond, of 100
      // (nothing is measured this time: what it knows, it kept).
      laidOut = false;
      const again = document.createElement('div');
      again.className = 'main';
      Object.defineProperty(again, 'clientHeight', { configurable: true, get: () => 600 });
      document.body.appendChild(again);
      const second = render(TicketList, { target: again, ...props(new MockBackend(null, many(450))) });
      const drawn = () => second.container.querySelectorAll('tbody tr[data-ticket]').length;
      await waitFor(() => expect(second.container.querySelector('[data-testid=total]')?.textContent).toBe('450'));
      expect(drawn()).toBeGreaterThanOrEqual(20);
      expect(drawn()).toBeLessThan(50);
      expect((second.container.querySelector('tbody tr.spacer') as HTMLElement).style.height).toBe(`${(100 - drawn()) * 30}px`);
      again.remove();
    } finally {
      if (height) Object.defineProperty(HTMLElement.prototype, 'offsetHeight', height);
    }
  });

  it('filters by tags typed (any of, and none of after a minus) and shows each row\'s tags', async () => {
    const backend = new MockBackend(null, [row(1, 'Tagged', { tags: ['vip', 'refund'] }), row(2, 'Plain')]);
    const { container } = render(TicketList, props(backend));
    await waitFor(() => expect(shown(container)).toBe(2));
    const chips = [...container.querySelectorAll('tbody tr[data-ticket=t1] .tag')].map((t) => t.textContent);
    expect(chips).toEqual(['vip', 'refund']);
    await fireEvent.input(screen.getByLabelText('Tags'), { target: { value: 'vip, late -spam' } });
    await waitFor(() => expect(backend.queries.at(-1)?.tags).toEqual({ any_of: ['vip', 'late'], none_of: ['spam'] }));
    // The team's tags are read when the box is first used, not on every view.
    expect(container.querySelectorAll('#team-tags option').length).toBe(0);
    await fireEvent.focus(screen.getByLabelText('Tags'));
    await waitFor(() => expect([...container.querySelectorAll('#team-tags option')].map((o) => (o as HTMLOptionElement).value)).toEqual(['refund', 'vip']));
  });

  it('opens filtered by the tag it was given (the palette\'s tag:vip)', async () => {
    const backend = new MockBackend(null, many(2));
    const { desk, context } = withDesk(backend, { agents: [alice] });
    void desk;
    render(TicketList, { props: { view: 'all', title: 'All Tickets', onOpen: () => {}, searchFocus: 0, tag: 'vip' }, context });
    await waitFor(() => expect(backend.queries[0]?.tags).toEqual({ any_of: ['vip'], none_of: [] }));
    expect((screen.getByLabelText('Tags') as HTMLInputElement).value).toBe('vip');
  });

  it('offers the server\'s archive below a list of closed tickets, and says when it needs a connection', async () => {
    const backend = new MockBackend(null, many(3));
    backend.archive = [row(900, 'Refund for a lost parcel', { status: 'closed' }), row(901, 'Damaged lamp', { status: 'closed' })];
    const opened: string[] = [];
    const p = props(backend);
    const { container } = render(TicketList, { ...p, props: { ...p.props, onOpen: (id: string) => opened.push(id) } });
    await waitFor(() => expect(shown(container)).toBe(3));
    // Not for a list without closed tickets.
    expect(container.querySelector('[data-testid=archive]')).toBeNull();
    await fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'closed' } });
    await waitFor(() => expect(container.querySelector('[data-testid=archive]')?.textContent).toContain('closed in the last 90 days'));
    expect(backend.archiveSearches).toEqual([]);
    await fireEvent.input(screen.getByLabelText('Search'), { target: { value: 'refund' } });
    await fireEvent.click(container.querySelector('[data-action=search-archive]') as HTMLElement);
    await waitFor(() => expect(container.querySelectorAll('[data-testid=archive-list] tbody tr')).toHaveLength(1));
    expect(backend.archiveSearches).toEqual(['refund']);
    expect(container.querySelector('[data-testid=archive-list]')?.textContent).toContain('#900');
    await fireEvent.click(container.querySelector('[data-testid=archive-list] tbody tr td.subject') as HTMLElement);
    expect(opened).toEqual([backend.archive[0].id]);
    // Offline: the archive's words, and a way to try again.
    backend.archive = null;
    await fireEvent.input(screen.getByLabelText('Search'), { target: { value: 'lamp' } });
    await waitFor(() => expect(container.querySelector('[data-action=search-archive]')).not.toBeNull());
    await fireEvent.click(container.querySelector('[data-action=search-archive]') as HTMLElement);
    await waitFor(() => expect(container.querySelector('[data-testid=archive] [role=alert]')?.textContent).toContain('Older closed tickets need a connection'));
    expect(container.querySelector('[data-testid=archive] [data-action=retry]')).not.toBeNull();
  });
});
