import { MongoNetworkError, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { backoffDelay, isTransientError, withRetry } from '../src/sweeper/run/retry.js';
import { TokenBucket } from '../src/sweeper/run/token-bucket.js';
import { Pacer } from '../src/sweeper/run/pacing.js';
import { resolveSweepOptions, SWEEP_CLOCK } from '../src/sweeper/options.js';
import { ManualClock } from './fixtures/manual-clock.js';

describe('TokenBucket', () => {
  it('lets a burst of its capacity through, then waits only for the missing tokens', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(100, 100, clock);
    expect(await bucket.take(60)).toBe(0);
    expect(await bucket.take(40)).toBe(0);
    expect(await bucket.take(50)).toBeCloseTo(500);
    expect(clock.time).toBeCloseTo(500);
  });

  it('counts time spent working toward the rate (no fixed sleep)', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(100, 100, clock);
    await bucket.take(100);
    clock.time += 300; // the batch itself took 300 ms: 30 tokens came back
    expect(await bucket.take(50)).toBeCloseTo(200);
    clock.time += 10_000;
    expect(bucket.delayFor(100)).toBe(0); // never more than the capacity
    expect(bucket.delayFor(150)).toBeCloseTo(500);
  });

  it('starts with one batch of tokens, not a second\'s burst, when given its initial tokens', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(100, 100, clock, 50);
    expect(await bucket.take(50)).toBe(0);
    expect(await bucket.take(50)).toBeCloseTo(500); // a full bucket would have let this through at once
    expect(clock.time).toBeCloseTo(500);
  });

  it('a sweep\'s pace: --rate 100 with batches of 50 lets the first batch go, then holds the rate (no burst up front)', async () => {
    const clock = new ManualClock();
    const pacer = new Pacer(resolveSweepOptions({ ratePerSecond: 100, batchSize: 50, [SWEEP_CLOCK]: clock }), undefined);
    await pacer.take(50);
    expect(clock.time).toBe(0);
    await pacer.take(50);
    await pacer.take(50);
    expect(clock.time).toBeCloseTo(1000); // 150 documents in the first second would be a burst
  });

  it('holds at least one batch, and never waits with an infinite rate', async () => {
    const clock = new ManualClock();
    expect(await new TokenBucket(10, 50, clock).take(50)).toBe(0);
    const unlimited = new TokenBucket(Infinity, 1, clock);
    for (let i = 0; i < 5; i++) expect(await unlimited.take(1_000_000)).toBe(0);
    expect(clock.slept).toBe(0);
  });
});

describe('retries', () => {
  const policy = (clock: ManualClock, retries = 3) => ({ retries, baseDelayMs: 100, maxDelayMs: 1000, clock, random: () => 0.5 });

  it('recognises transient errors by name, code and label', () => {
    expect(isTransientError(new MongoNetworkError('socket hang up'))).toBe(true);
    // A Node socket error the driver let through unwrapped (seen on mongo-java-server with connections reset by a proxy).
    expect(isTransientError(Object.assign(new Error('write ECONNRESET'), { code: 'ECONNRESET', syscall: 'write' }))).toBe(true);
    expect(isTransientError(Object.assign(new Error('no such file'), { code: 'ENOENT' }))).toBe(false);
    expect(isTransientError(Object.assign(new MongoServerError({ message: 'not primary' }), { code: 10107 }))).toBe(true);
    const labelled = new MongoServerError({ message: 'write conflict' });
    labelled.addErrorLabel('RetryableWriteError');
    expect(isTransientError(labelled)).toBe(true);
    expect(isTransientError(Object.assign(new MongoServerError({ message: 'duplicate key' }), { code: 11000 }))).toBe(false);
    expect(isTransientError(new Error('boom'))).toBe(false);
    // PostgreSQL's "try again", as FerretDB 2 / DocumentDB passes it on (seen under racing writers: a sweep aborted on it).
    expect(isTransientError(Object.assign(new MongoServerError({ message: 'deadlock detected' }), { code: 1 }))).toBe(true);
    expect(isTransientError('boom')).toBe(false);
  });

  it('backs off exponentially, capped, with jitter between half and all of the delay', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, 100, 1000, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3].map((attempt) => backoffDelay(attempt, 100, 1000, () => 0.999999))).toEqual([100, 200, 400]);
  });

  it('retries transient errors a bounded number of times, waiting on the injected clock', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const result = await withRetry(async () => {
      calls++;
      if (calls < 3) throw new MongoNetworkError('reset');
      return 'ok';
    }, policy(clock));
    expect(result).toBe('ok');
    expect(clock.sleeps).toEqual([75, 150]);

    const always = new ManualClock();
    let attempts = 0;
    await expect(withRetry(async () => {
      attempts++;
      throw new MongoNetworkError('down');
    }, policy(always, 2))).rejects.toBeInstanceOf(MongoNetworkError);
    expect(attempts).toBe(3);
    expect(always.sleeps).toHaveLength(2);
  });

  it('does not retry other errors, nor after the signal aborted', async () => {
    const clock = new ManualClock();
    let calls = 0;
    await expect(withRetry(async () => {
      calls++;
      throw new Error('bug');
    }, policy(clock))).rejects.toThrow('bug');
    expect(calls).toBe(1);

    const controller = new AbortController();
    controller.abort();
    calls = 0;
    await expect(withRetry(async () => {
      calls++;
      throw new MongoNetworkError('down');
    }, { ...policy(clock), signal: controller.signal })).rejects.toBeInstanceOf(MongoNetworkError);
    expect(calls).toBe(1);
  });
});
