/**
 * The stored control of a collection's sweeps: paused (`molt pause` / `molt resume`), and a pinned
 * target (`molt sweep --to 2` leaves the collection at v2 until `molt sweep --to <latest>` or
 * `molt unpin`). Cron runs plain `molt sweep`: without a stored control, a rollback done by hand
 * would be undone by the next scheduled run.
 *
 * One document per collection in the state collection, beside the sweep state documents (whose
 * `_id` is a string `<collection>:<schema>`): its `_id` is `{ control: <collection> }`, a
 * document, so it can never collide with one of theirs.
 */
import type { Collection, Db, Document } from 'mongodb';
import { limited, type OperationLimit } from '../server/index.js';
import { DEFAULT_STATE_COLLECTION } from './options.js';
import { databaseOf } from '../server/index.js';
import { checkCollection } from './arguments.js';

/** Who set a control, and when. @public */
export interface SweepControlMark {
  /** When it was set. */
  readonly at: Date;
  /** What set it: the command line (`molt sweep --to 2`), or the function (`sweep({ to: 2 })`). */
  readonly by: string;
}

/** A collection's stored sweep control. @public */
export interface SweepControl {
  /** Set by `molt pause` / `pauseSweeps()`: every sweep of the collection stops before it starts, status `partial`, reason `paused`. */
  readonly paused: SweepControlMark | null;
  /** Set by a sweep with `to` below the latest version: a sweep without `to` goes to this version, not the latest. */
  readonly pin: (SweepControlMark & { readonly version: number }) | null;
}

/** The control document, as stored. */
interface SweepControlDocument extends SweepControl {
  readonly _id: { readonly control: string };
  readonly collection: string;
}

/** No control stored: every sweep runs, to the latest version. */
export const NO_CONTROL: SweepControl = Object.freeze({ paused: null, pin: null });

/**
 * Not an option: the key under which the CLI tells `sweep` the command line that runs it, for the
 * pin's `by`. A symbol, so it is no option name.
 */
export const SWEEP_ACTOR: unique symbol = Symbol('mongo-molt.sweepActor');

/** Options of the control functions. @public */
export interface SweepControlOptions {
  /** The state collection. Default: `molt_state`. */
  readonly stateCollection?: string | undefined;
  /** Recorded as who set the control (shown by `molt status`). Default: the function's name. */
  readonly by?: string | undefined;
}

function controls(db: Db, stateCollection: string): Collection<SweepControlDocument> {
  return db.collection<SweepControlDocument>(stateCollection);
}

/** Reads a collection's control from the state collection of `db`. */
export async function readControl(db: Db, stateCollection: string, collectionName: string, limit?: OperationLimit): Promise<SweepControl> {
  const stored = await controls(db, stateCollection).findOne({ _id: { control: collectionName } }, limited({}, limit));
  return stored ? { paused: stored.paused ?? null, pin: stored.pin ?? null } : NO_CONTROL;
}

/** Sets (or clears, with `null`) one field of a collection's control. */
export async function writeControl(db: Db, stateCollection: string, collectionName: string, change: Partial<SweepControl>, limit?: OperationLimit): Promise<SweepControl> {
  const stored = await controls(db, stateCollection).findOneAndUpdate(
    { _id: { control: collectionName } },
    { $set: { collection: collectionName, ...change } },
    limited({ upsert: true, returnDocument: 'after' } as const, limit),
  );
  return { paused: stored?.paused ?? null, pin: stored?.pin ?? null };
}

function target<T extends Document>(collection: Collection<T>, options: SweepControlOptions): { db: Db; name: string; state: string } {
  const raw = checkCollection(collection);
  return { db: databaseOf(raw), name: raw.collectionName, state: options.stateCollection ?? DEFAULT_STATE_COLLECTION };
}

/** A collection's stored sweep control (what `molt status` shows). @public */
export async function sweepControl<T extends Document>(collection: Collection<T>, options: SweepControlOptions = {}): Promise<SweepControl> {
  const { db, name, state } = target(collection, options);
  return readControl(db, state, name);
}

/**
 * Pauses a collection's sweeps (`molt pause`): every sweep after this stops before it starts
 * (status `partial`, reason `paused`, nothing read or written) until `resumeSweeps`. A run already
 * under way finishes: stop it with its signal (SIGTERM). @public
 */
export async function pauseSweeps<T extends Document>(collection: Collection<T>, options: SweepControlOptions = {}): Promise<SweepControl> {
  const { db, name, state } = target(collection, options);
  return writeControl(db, state, name, { paused: { at: new Date(), by: options.by ?? 'pauseSweeps()' } });
}

/** Lets a paused collection's sweeps run again (`molt resume`). @public */
export async function resumeSweeps<T extends Document>(collection: Collection<T>, options: SweepControlOptions = {}): Promise<SweepControl> {
  const { db, name, state } = target(collection, options);
  return writeControl(db, state, name, { paused: null });
}

/** Clears a collection's pinned target (`molt unpin`): the next sweep without `to` goes to the latest version again. @public */
export async function unpinSweeps<T extends Document>(collection: Collection<T>, options: SweepControlOptions = {}): Promise<SweepControl> {
  const { db, name, state } = target(collection, options);
  return writeControl(db, state, name, { pin: null });
}

/** What a sweep does, given the stored control and its own `to`. */
export type ControlDecision =
  | { readonly run: false; readonly paused: SweepControlMark }
  | {
      readonly run: true;
      /** The version to sweep to. */
      readonly to: number;
      /** The pin this run follows (no `to` given, a pin stored). */
      readonly pinned?: SweepControlMark & { readonly version: number };
      /** The control to store before the run (an explicit `to` sets or clears the pin). */
      readonly store?: Partial<SweepControl>;
    };

/**
 * The rule. A pause stops every sweep, an explicit `to` included (resume first: a pause is
 * "nothing sweeps", whatever the target). Without `to`, a sweep goes to the pinned version, else
 * the latest. An explicit `to` is the caller choosing the target: below the latest it pins it
 * (the rollback stays rolled back, whichever way it was started), at the latest it clears the pin.
 * So a scheduled sweep must not pass `to`.
 */
export function decide(control: SweepControl, to: number | undefined, latest: number, by: string): ControlDecision {
  if (control.paused) return { run: false, paused: control.paused };
  if (to === undefined) {
    return control.pin ? { run: true, to: control.pin.version, pinned: control.pin } : { run: true, to: latest };
  }
  if (to < latest) {
    const same = control.pin?.version === to;
    return { run: true, to, ...(same ? {} : { store: { pin: { version: to, at: new Date(), by } } }) };
  }
  return { run: true, to, ...(control.pin ? { store: { pin: null } } : {}) };
}

/** The words for a pin, as `molt sweep` and `molt status` say them. */
export function describePin(pin: SweepControlMark & { readonly version: number }, collection: string): string {
  return `pinned at v${pin.version} by ${pin.by} on ${pin.at.toISOString().replace(/\.\d{3}Z$/, 'Z')}; molt unpin ${collection} to resume the latest`;
}

/** The words for a pause. */
export function describePause(paused: SweepControlMark, collection: string): string {
  return `paused by ${paused.by} on ${paused.at.toISOString().replace(/\.\d{3}Z$/, 'Z')}; molt resume ${collection} to let sweeps run`;
}
