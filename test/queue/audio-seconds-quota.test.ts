import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { AudioSecondsQuota } from '@chorus/queue';
import { useTestQueueConnection } from '../support/redis';

const connection = useTestQueueConnection('audio-quota');
const open: AudioSecondsQuota[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((quota) => quota.close()));
});

/** One API instance's or worker's view of the quota. */
function quota(): AudioSecondsQuota {
  const instance = new AudioSecondsQuota(connection);
  open.push(instance);
  return instance;
}

/** Charges one generation of `seconds` at `at` as the API does: the charge, then its record. */
async function chargeGeneration(api: AudioSecondsQuota, tenantId: string, seconds: number, at: Date): Promise<string> {
  const id = randomUUID();
  expect(await api.charge(tenantId, seconds, 100, at)).toBe(true);
  await api.recordCharges(tenantId, at, [{ id, secondsTotal: seconds }]);
  return id;
}

describe('AudioSecondsQuota', () => {
  it('gives a canceled generation’s seconds back once, however many times its end is reported', async () => {
    const api = quota();
    const tenantId = randomUUID();
    const now = new Date();
    await chargeGeneration(api, tenantId, 4, now);
    const id = await chargeGeneration(api, tenantId, 6, now);

    const refunded = [await api.refundUnrendered([{ id, tenantId, status: 'canceled' }]), await api.refundUnrendered([{ id, tenantId, status: 'canceled' }])];

    expect(refunded).toEqual([6, 0]);
    expect(await api.used(tenantId, now)).toBe(4);
  });

  it('refunds once when a cancel and a failure race from two processes', async () => {
    const tenantId = randomUUID();
    const now = new Date();
    const id = await chargeGeneration(quota(), tenantId, 6, now);

    const [canceledByApi, failedByWorker] = await Promise.all([
      quota().refundUnrendered([{ id, tenantId, status: 'canceled' }]),
      quota().refundUnrendered([{ id, tenantId, status: 'failed' }]),
    ]);

    expect(canceledByApi + failedByWorker).toBe(6);
    expect(await quota().used(tenantId, now)).toBe(0);
  });

  it('keeps the seconds of a generation that succeeded', async () => {
    const api = quota();
    const tenantId = randomUUID();
    const now = new Date();
    const id = await chargeGeneration(api, tenantId, 6, now);

    expect(await api.refundUnrendered([{ id, tenantId, status: 'succeeded' }])).toBe(0);
    expect(await api.used(tenantId, now)).toBe(6);
  });

  it('gives the seconds back to the UTC day they were charged to, not the day the generation ended', async () => {
    const api = quota();
    const tenantId = randomUUID();
    const today = new Date();
    const yesterday = new Date(today.getTime() - 24 * 3600 * 1000);
    const id = await chargeGeneration(api, tenantId, 6, yesterday);
    await chargeGeneration(api, tenantId, 3, today);

    await api.refundUnrendered([{ id, tenantId, status: 'failed' }]);

    expect(await api.used(tenantId, yesterday)).toBe(0);
    expect(await api.used(tenantId, today)).toBe(3);
  });

  it('gives nothing back for a generation that was never charged (no quota when it was accepted)', async () => {
    const api = quota();
    const tenantId = randomUUID();
    const now = new Date();
    await chargeGeneration(api, tenantId, 5, now);

    expect(await api.refundUnrendered([{ id: randomUUID(), tenantId, status: 'canceled' }])).toBe(0);
    expect(await api.used(tenantId, now)).toBe(5);
  });
});
