import { describe, expect, it } from 'vitest';
import { ProgressThrottle } from './progress-throttle';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ProgressThrottle', () => {
  it('sends the first value at once and at most one per interval after it', async () => {
    const sent: number[] = [];
    const throttle = new ProgressThrottle<number>(50, async (value) => void sent.push(value), () => {});
    for (let step = 1; step <= 5; step++) throttle.offer(step);
    expect(sent).toEqual([1]);
    await sleep(60);
    throttle.offer(6);
    throttle.offer(7);
    expect(sent).toEqual([1, 6]);
  });

  it('drops values while a send is still in flight, so slow writes never pile up', async () => {
    let release!: () => void;
    const sent: number[] = [];
    const throttle = new ProgressThrottle<number>(
      0,
      (value) => {
        sent.push(value);
        return new Promise<void>((resolve) => (release = resolve));
      },
      () => {},
    );
    throttle.offer(1);
    throttle.offer(2);
    expect(sent).toEqual([1]);
    release();
    await sleep(0);
    throttle.offer(3);
    expect(sent).toEqual([1, 3]);
  });

  it('after stop() sends nothing more, and stop() waits for the send in flight', async () => {
    let finished = false;
    const throttle = new ProgressThrottle<number>(0, async () => {
      await sleep(20);
      finished = true;
    }, () => {});
    throttle.offer(1);
    await throttle.stop();
    expect(finished).toBe(true);
    finished = false;
    throttle.offer(2);
    await sleep(30);
    expect(finished).toBe(false);
  });

  it('hands a failed send to onError instead of throwing', async () => {
    const errors: unknown[] = [];
    const throttle = new ProgressThrottle<number>(0, async () => Promise.reject(new Error('db down')), (error) => errors.push(error));
    throttle.offer(1);
    await throttle.stop();
    expect(errors).toMatchObject([{ message: 'db down' }]);
  });
});
