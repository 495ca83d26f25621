import { describe, expect, it } from 'vitest';
import { deliveryShown } from './delivery';

describe('deliveryShown', () => {
  it('says nothing of customers’ and AI messages', () => {
    expect(deliveryShown({ author: 'customer' })).toBeNull();
    expect(deliveryShown({ author: 'ai', delivery: { state: 'sent', attempts: 1 } })).toBeNull();
  });
  it('shows an unsynced reply as waiting, whatever its delivery says', () => {
    expect(deliveryShown({ author: 'agent', pending: true, delivery: { state: 'queued', attempts: 0 } })?.label).toBe('Waiting to sync');
  });
  it('names each state', () => {
    const label = (state: 'queued' | 'sent' | 'delivered' | 'read' | 'failed') =>
      deliveryShown({ author: 'agent', delivery: { state, attempts: 1, reason: 'the receiver answered 503' } })?.label;
    expect([label('queued'), label('sent'), label('delivered'), label('read'), label('failed')])
      .toEqual(['Sending…', 'Sent', 'Delivered', 'Read', 'Failed']);
  });
  it('keeps the reason of a failure and of a retry', () => {
    const failed = deliveryShown({ author: 'agent', delivery: { state: 'failed', attempts: 3, reason: 'the receiver answered 410 Gone' } });
    expect(failed?.reason).toBe('the receiver answered 410 Gone');
    const retrying = deliveryShown({ author: 'agent', delivery: { state: 'queued', attempts: 2, reason: 'the receiver answered 503' } });
    expect(retrying?.title).toContain('the receiver answered 503');
  });
  it('shows nothing for a reply older than deliveries', () => {
    expect(deliveryShown({ author: 'agent' })).toBeNull();
  });
});
