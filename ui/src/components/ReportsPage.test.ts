import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import ReportsPage from './ReportsPage.svelte';
import { MockBackend, alice, withDesk } from '../mock-backend';
import { addDays } from '../lib/report';

const signedIn = { server: 'https://x', agent: alice, demo: false, token_in_keyring: true };

describe('the reports page', () => {
  it('asks for the last four weeks by week, shows rates with their counts, and groups as chosen', async () => {
    const backend = new MockBackend(signedIn);
    const { container } = render(ReportsPage, { context: withDesk(backend).context });
    await waitFor(() => expect(backend.reportQueries.length).toBeGreaterThan(0));
    const q = backend.reportQueries.at(-1)!;
    expect(q.group_by).toBe('week');
    // The last day shown is included: the period ends the day after.
    expect(addDays(q.from, 28)).toBe(q.to);
    await waitFor(() => expect(container.querySelector('[data-total=first_response]')?.textContent).toBe('80.0%'));
    expect(container.querySelector('[data-total=first_response]')?.getAttribute('title')).toBe('28 met, 7 missed');
    // A period with nothing counted reads "–", never 0%.
    const empty = container.querySelector('[data-group="2026-11-30"]');
    expect(empty?.textContent).toContain('–');
    expect(empty?.textContent).not.toContain('0.0%');
    await fireEvent.change(screen.getByLabelText('Group by'), { target: { value: 'agent' } });
    await waitFor(() => expect(backend.reportQueries.at(-1)?.group_by).toBe('agent'));
    await waitFor(() => expect(container.querySelector(`[data-group="${alice.id}"]`)?.textContent).toContain('Alice Moreau'));
    const rate = [...container.querySelectorAll(`[data-group="${alice.id}"] td`)].find((td) => td.textContent === '90.0%');
    expect(rate?.getAttribute('title')).toBe('18 met, 2 missed');
    expect(container.querySelector('[role=img]')?.getAttribute('aria-label')).toContain('agent');
  });

  it('exports the report shown as CSV and says where', async () => {
    const backend = new MockBackend(signedIn);
    render(ReportsPage, { context: withDesk(backend).context });
    await waitFor(() => expect(backend.reportQueries.length).toBeGreaterThan(0));
    await fireEvent.click(screen.getByRole('button', { name: 'Last 7 days' }));
    await waitFor(() => expect(addDays(backend.reportQueries.at(-1)!.from, 7)).toBe(backend.reportQueries.at(-1)!.to));
    await fireEvent.click(screen.getByRole('button', { name: 'Export CSV' }));
    await waitFor(() => expect(screen.getByTestId('export-saved').textContent).toContain('Downloads/sla-'));
    expect(backend.exports.at(-1)).toEqual(backend.reportQueries.at(-1));
  });

  it('says when the period reaches past what this computer keeps', async () => {
    const backend = new MockBackend(signedIn);
    const { container } = render(ReportsPage, { context: withDesk(backend).context });
    await waitFor(() => expect(container.querySelector('[data-total=first_response]')).not.toBeNull());
    expect(container.querySelector('[data-testid=report-covers]')).toBeNull();
    backend.reportCoversSince = '2026-09-08T12:00:00.000Z';
    await fireEvent.click(screen.getByRole('button', { name: 'Last 7 days' }));
    await waitFor(() => expect(screen.getByTestId('report-covers').textContent).toContain('reaches past what this computer keeps'));
    expect(screen.getByTestId('report-covers').getAttribute('role')).toBe('status');
  });
});
