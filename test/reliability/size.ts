/**
 * The reliability suite's size knob. Full size by default (what RELIABILITY.md reports); CI sets
 * `MOLT_RELIABILITY_OPS=2000` (see .ci/run) to keep its run bounded.
 */
function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return value;
}

/** Racing operations in the soak (default 10,000). */
export const SOAK_OPERATIONS = positive('MOLT_RELIABILITY_OPS', 10_000);
/** SIGKILLs of a sweeper child, in a row, on one collection (default 20). */
export const KILLS = positive('MOLT_RELIABILITY_KILLS', 20);
/** Connection faults injected mid-sweep (default 20); server restarts and black-holed runs are a share of it. */
export const FAULTS = positive('MOLT_RELIABILITY_FAULTS', 20);
/** Documents of the interrupted sweep over `_id`s of four BSON types (default 30,000). */
export const SCALE_DOCUMENTS = positive('MOLT_RELIABILITY_SCALE_DOCS', 30_000);
/** fast-check runs per property (default 300). */
export const PROPERTY_RUNS = positive('MOLT_RELIABILITY_RUNS', 300);
/** Random interleavings of the model-based concurrency test (default 1,000). */
export const INTERLEAVINGS = positive('MOLT_RELIABILITY_INTERLEAVINGS', 1_000);
/** A seed for every random choice (printed, so that a failing run can be repeated). */
export const SEED = positive('MOLT_RELIABILITY_SEED', Date.now() % 2_147_483_647);

/** A small deterministic PRNG (mulberry32), so that a run is repeatable from its seed. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
