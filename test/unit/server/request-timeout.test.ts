import { describe, expect, it } from 'vitest';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { withDeadline } from '../../../dist/server/plugins/request-timeout.js';

type Signal = (() => AbortSignal) | undefined;

/** The two fields of a Fastify reply withDeadline reads. */
const reply = (requestTimeoutMs: number, elapsedTime = 0) => ({ server: { requestTimeoutMs }, elapsedTime });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('withDeadline', () => {
  it('runs without a signal when there is no limit', async () => {
    let given: Signal = () => new AbortController().signal;
    await expect(
      withDeadline(reply(0), async (signal: Signal) => {
        given = signal;
        return 7;
      }),
    ).resolves.toBe(7);
    expect(given).toBeUndefined();
  });

  it('answers in time, and the signal it hands out is live until then', async () => {
    let signal: AbortSignal | null = null;
    const value = await withDeadline(reply(1000), async (make: Signal) => {
      signal = make!();
      expect(make!()).toBe(signal); // one signal per request
      return 'ok';
    });
    expect(value).toBe('ok');
    expect(signal!.aborted).toBe(false);
  });

  it('rejects with STRATA_ERR_TIMEOUT at the deadline and aborts the signal already handed out', async () => {
    let signal: AbortSignal | null = null;
    const run = withDeadline(reply(30), async (make: Signal) => {
      signal = make!();
      await sleep(300);
      return 'late';
    });
    await expect(run).rejects.toMatchObject({ code: 'STRATA_ERR_TIMEOUT' });
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toMatchObject({ code: 'STRATA_ERR_TIMEOUT' });
  });

  it('times out work that never asked for a signal, and a signal asked for afterwards is already aborted', async () => {
    let make: Signal;
    const run = withDeadline(reply(30), async (m: Signal) => {
      make = m;
      await sleep(300);
      return 'late';
    });
    await expect(run).rejects.toMatchObject({ code: 'STRATA_ERR_TIMEOUT' });
    const late = make!();
    expect(late.aborted).toBe(true);
    expect(late.reason).toMatchObject({ code: 'STRATA_ERR_TIMEOUT' });
  });

  it('counts the time already spent on the request', async () => {
    const started = Date.now();
    await expect(withDeadline(reply(1000, 1000), () => sleep(500))).rejects.toMatchObject({
      code: 'STRATA_ERR_TIMEOUT',
    });
    expect(Date.now() - started).toBeLessThan(400);
  });
});
