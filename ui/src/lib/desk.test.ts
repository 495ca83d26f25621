import { afterEach, describe, expect, it, vi } from 'vitest';
import { DOWNLOAD_READS_MS } from './desk.svelte';
import { MockBackend, withDesk } from '../mock-backend';
import type { StatusInfo } from '../generated/StatusInfo';

const change = (bulk: boolean) => ({ tickets: [], conversations: [], bulk, team: false, queue: false });
const status = (download: StatusInfo['download']): StatusInfo => ({
  connection: 'syncing', error: null, last_sync_at: null, pending: 0, problems: 0, clock_offset_ms: 0, notice: null, download,
});

describe('what is shown reads again when the cache changes', () => {
  afterEach(() => vi.useRealTimers());

  it('at every change, a first download\'s at most every few hundred ms, and at once when it ends', async () => {
    vi.useFakeTimers();
    const backend = new MockBackend(null, []);
    const { desk } = withDesk(backend);
    const stop = desk.follow(() => {});
    await vi.advanceTimersByTimeAsync(0);
    const changed = backend.changeHandler!;
    // An action of the agent's, or a sync: at once, each time.
    changed(change(false));
    changed(change(false));
    expect(desk.refresh).toBe(2);

    // A first download's transactions, every 100 ms for 2 s.
    backend.statusHandler!(status({ rows: 0, total: 1000 }));
    for (let i = 0; i < 20; i++) {
      changed(change(true));
      await vi.advanceTimersByTimeAsync(100);
    }
    const during = desk.refresh - 2;
    expect(during).toBeGreaterThanOrEqual(2000 / DOWNLOAD_READS_MS - 1);
    expect(during).toBeLessThanOrEqual(2000 / DOWNLOAD_READS_MS + 1);

    // Its last change waits for no timer: the download's end reads it.
    changed(change(true));
    changed(change(true));
    const before = desk.refresh;
    backend.statusHandler!(status(null));
    expect(desk.refresh).toBe(before + 1);
    await vi.advanceTimersByTimeAsync(DOWNLOAD_READS_MS * 2);
    expect(desk.refresh).toBe(before + 1);

    // An action during a download is shown at once too, with what waited.
    backend.statusHandler!(status({ rows: 10, total: 1000 }));
    changed(change(true));
    changed(change(true));
    const waiting = desk.refresh;
    changed(change(false));
    expect(desk.refresh).toBe(waiting + 1);
    await vi.advanceTimersByTimeAsync(DOWNLOAD_READS_MS * 2);
    expect(desk.refresh).toBe(waiting + 1);
    stop();
  });
});
