import { describe, expect, it } from 'vitest';
import { retryWithBackoff } from './backoff';

describe('retryWithBackoff', () => {
  it('tries again after a retryable failure, doubling the wait, and resolves with the first success', async () => {
    const started = Date.now();
    let calls = 0;
    const value = await retryWithBackoff(async () => (++calls < 3 ? Promise.reject(new Error('flaky')) : 'done'), () => true, { attempts: 5, firstDelayMs: 20 });
    expect(value).toBe('done');
    expect(calls).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(20 + 40 - 5);
  });

  it('throws the last failure once the attempts are spent', async () => {
    let calls = 0;
    await expect(retryWithBackoff(async () => Promise.reject(new Error(`try ${++calls}`)), () => true, { attempts: 3, firstDelayMs: 1 })).rejects.toThrow('try 3');
    expect(calls).toBe(3);
  });

  it('throws at once a failure that is not retryable', async () => {
    let calls = 0;
    await expect(retryWithBackoff(async () => Promise.reject(new Error(`try ${++calls}`)), () => false, { attempts: 5, firstDelayMs: 1 })).rejects.toThrow('try 1');
    expect(calls).toBe(1);
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stopped')), 20);
    await expect(retryWithBackoff(async () => Promise.reject(new Error('down')), () => true, { attempts: 5, firstDelayMs: 60_000, signal: controller.signal })).rejects.toThrow('stopped');
  });
});
