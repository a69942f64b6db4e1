import { afterEach, describe, expect, it } from 'vitest';
import { CancelBroadcast } from '@chorus/queue';
import { useTestQueueConnection } from '../support/redis';

const connection = useTestQueueConnection('cancel');
const open: CancelBroadcast[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((broadcast) => broadcast.close()));
});

function broadcast(): CancelBroadcast {
  const instance = new CancelBroadcast(connection);
  open.push(instance);
  return instance;
}

/** Subscribes now; the returned promise resolves with the next cancel received. */
async function nextCancel(instance: CancelBroadcast): Promise<{ received: Promise<string> }> {
  let resolve!: (id: string) => void;
  const received = new Promise<string>((r) => (resolve = r));
  await instance.subscribe(resolve);
  return { received };
}

describe('CancelBroadcast', () => {
  it('delivers a cancel to every subscribed worker, not only the local one', async () => {
    const workerA = broadcast();
    const workerB = broadcast();
    const receivedA: string[] = [];
    const receivedB: string[] = [];
    await workerA.subscribe((id) => receivedA.push(id));
    await workerB.subscribe((id) => receivedB.push(id));

    const api = broadcast();
    const listeners = await api.publish('gen-1');
    expect(listeners).toBe(2);
    await expect.poll(() => [receivedA, receivedB]).toEqual([['gen-1'], ['gen-1']]);
  });

  it('stops delivering to a listener once it unsubscribes', async () => {
    const worker = broadcast();
    const received: string[] = [];
    const unsubscribe = await worker.subscribe((id) => received.push(id));
    unsubscribe();
    const still = await nextCancel(worker);
    await broadcast().publish('gen-2');
    expect(await still.received).toBe('gen-2');
    expect(received).toEqual([]);
  });

  it('keeps prefixes apart, so two farms on one Redis do not cancel each other', async () => {
    const other = new CancelBroadcast({ ...connection, prefix: `${connection.prefix}-other` });
    open.push(other);
    const received: string[] = [];
    await other.subscribe((id) => received.push(id));
    const mine = broadcast();
    const delivered = await nextCancel(mine);
    await broadcast().publish('gen-3');
    expect(await delivered.received).toBe('gen-3');
    expect(received).toEqual([]);
  });
});
