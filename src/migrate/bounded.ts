import type { MaybePromise } from '../schema/types.js';
import { isPromiseLike } from './engine.js';

/** Default of the upcast concurrency options: async upcasters running at once per read or batch. */
export const DEFAULT_UPCAST_CONCURRENCY = 16;

/**
 * Maps `items` with `fn`, as `Promise.all(items.map(fn))` would, but with at most `limit` of
 * `fn`'s promises pending at once: a `find` of 500 stale documents does not start 500 async
 * upcasters (and their I/O) together. Stays synchronous while `fn` does, so a batch of
 * synchronous upcasts costs no promise. Rejects with the first rejection; no new call starts
 * after it.
 */
export function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => MaybePromise<R>): MaybePromise<R[]> {
  const out = new Array<R>(items.length);
  for (let index = 0; index < items.length; index++) {
    const value = fn(items[index] as T);
    if (isPromiseLike<R>(value)) return finishBounded(items, limit, fn, out, index, value);
    out[index] = value;
  }
  return out;
}

async function finishBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => MaybePromise<R>, out: R[], first: number, pending: Promise<R>): Promise<R[]> {
  const inFlight = new Set<Promise<void>>();
  let failed = false;
  let failure: unknown;
  const track = (index: number, promise: Promise<R>): void => {
    const settled: Promise<void> = promise.then(
      (value) => {
        out[index] = value;
        inFlight.delete(settled);
      },
      (error: unknown) => {
        if (!failed) {
          failed = true;
          failure = error;
        }
        inFlight.delete(settled);
      },
    );
    inFlight.add(settled);
  };
  track(first, pending);
  for (let index = first + 1; index < items.length && !failed; index++) {
    while (inFlight.size >= limit && !failed) await Promise.race(inFlight);
    if (failed) break;
    let value: MaybePromise<R>;
    try {
      value = fn(items[index] as T);
    } catch (error) {
      failed = true;
      failure = error;
      break;
    }
    if (isPromiseLike<R>(value)) track(index, value);
    else out[index] = value;
  }
  await Promise.all(inFlight);
  if (failed) throw failure;
  return out;
}
