import { isDeepStrictEqual } from 'node:util';
import { describeId, InvalidOptionError, NewerVersionError, UpcastError } from '../errors.js';
import type { MaybePromise, SchemaDefinition } from '../schema/types.js';
import { compiledChain, type CompiledStep } from './compile.js';
import { DEFAULT_ON_NEWER_VERSION, DEFAULT_VALIDATE, type OnNewerVersion, type ValidateMode } from './modes.js';
import { readVersion } from './read-version.js';
import { isPlainObject } from '../steps/paths.js';
import { completeDefaults, validateVersion } from './validate.js';

/** Options of `migrate`. */
export interface MigrateOptions {
  /** The version to bring the document to. Default: the schema's latest. Lower versions run downcasters. */
  readonly to?: number | undefined;
  /** When to check the result with zod. Default: `migrated` ({@link DEFAULT_VALIDATE}). */
  readonly validate?: ValidateMode | undefined;
  /** A document newer than the schema's latest: `error` (default) or `passthrough`. */
  readonly onNewerVersion?: OnNewerVersion | undefined;
  /**
   * How long an async step may take before it is an `UpcastError` (a step that never settles would
   * hold a read or a sweep's batch forever). Default: 30000 ({@link DEFAULT_UPCAST_TIMEOUT_MS});
   * `Infinity` waits for ever. Synchronous steps are not bounded (they cannot be interrupted).
   */
  readonly upcastTimeoutMs?: number | undefined;
}

/** The longest delay `setTimeout` honours (2^31 - 1 ms, about 24.8 days); beyond it, Node fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Default of `upcastTimeoutMs`: 30 seconds. @public */
export const DEFAULT_UPCAST_TIMEOUT_MS = 30_000;

/** What `migrate` returns. @public */
export interface MigrationResult<T = Record<string, unknown>> {
  /** The document at `toVersion`, without the version field. */
  readonly value: T;
  /** The version the stored document was at. */
  readonly fromVersion: number;
  /** The version `value` is at (the stored version for a passed-through newer document). */
  readonly toVersion: number;
  /** Whether a step ran: `value` differs from what is stored and should be written back. */
  readonly changed: boolean;
}

type RawDocument = Record<string, unknown>;

/**
 * The engine: reads the version, removes the version field, runs the steps from the stored
 * version to the target, validates. Stays synchronous unless a step returns a promise, so reading
 * a document of the latest version costs no promise, no step and (with `migrated`) no validation.
 * With `inPlace`, the raw document's version field is deleted instead of copying the document: the
 * collection wrapper owns the documents the driver hands it.
 */
export function migrateDocument(
  definition: SchemaDefinition,
  raw: unknown,
  options: MigrateOptions | undefined,
  inPlace: boolean,
): MaybePromise<MigrationResult<RawDocument>> {
  if (!isDocument(raw)) {
    throw new InvalidOptionError('document', `migrate expects a document (a plain object), got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}.`);
  }
  const fromVersion = readVersion(definition, raw);
  const target = options?.to ?? definition.latest;
  const validate = options?.validate ?? DEFAULT_VALIDATE;

  if (fromVersion > definition.latest) {
    if ((options?.onNewerVersion ?? DEFAULT_ON_NEWER_VERSION) === 'passthrough') {
      return { value: withoutVersionField(raw, definition.versionField, inPlace), fromVersion, toVersion: fromVersion, changed: false };
    }
    throw new NewerVersionError({ schemaName: definition.name, _id: raw._id, version: fromVersion, latestVersion: definition.latest });
  }
  if (target !== definition.latest) checkTarget(definition, target);

  const value = withoutVersionField(raw, definition.versionField, inPlace);
  if (fromVersion === target) {
    // Trusted as stored (every write through mongo-molt fills defaults in): no copy, no zod. A
    // default filled in by `always` is handed out but never written back: a same-version write-back
    // could overwrite an update made in between.
    if (validate !== 'always') return { value, fromVersion, toVersion: target, changed: false };
    return settleWith(validateVersion(definition, target, value, raw._id, READ_ACTION), (checked) => ({ value: checked, fromVersion, toVersion: target, changed: false }));
  }
  const id: unknown = raw._id;
  const stepped = runSteps(definition, value, fromVersion, target, id, options?.upcastTimeoutMs ?? DEFAULT_UPCAST_TIMEOUT_MS);
  const finish = (migrated: RawDocument): MaybePromise<MigrationResult<RawDocument>> => {
    // `_id` is what every compare-and-swap and write-back is keyed on: a step may not change it.
    if (id !== undefined && migrated._id !== id && !isDeepStrictEqual(migrated._id, id)) {
      throw new UpcastError({
        schemaName: definition.name, _id: id, fromVersion, toVersion: target,
        reason: `a step changed _id (to ${describeId(migrated._id)}); steps must keep the document's _id`,
      });
    }
    const checked = validate === 'never' ? completeDefaults(definition, target, migrated) : validateVersion(definition, target, migrated, raw._id, READ_ACTION);
    return settleWith(checked, (value) => ({ value, fromVersion, toVersion: target, changed: true }));
  };
  return isPromiseLike(stepped) ? stepped.then(finish) : finish(stepped);
}

/**
 * Brings a raw document to the latest version (or `options.to`). Pure: the input is not modified.
 * @public
 */
export async function migrate(definition: SchemaDefinition, raw: unknown, options?: MigrateOptions): Promise<MigrationResult<RawDocument>> {
  return migrateDocument(definition, raw, options, false);
}

/** `migrate` for synchronous chains; an `UpcastError` if a step returns a promise. @public */
export function migrateSync(definition: SchemaDefinition, raw: unknown, options?: MigrateOptions): MigrationResult<RawDocument> {
  const result = migrateDocument(definition, raw, options, false);
  if (isPromiseLike(result)) {
    // The chain went async: silence the pending promise's eventual rejection, it has no reader.
    result.then(undefined, () => undefined);
    const version = readVersion(definition, raw as RawDocument);
    throw new UpcastError({
      schemaName: definition.name,
      _id: (raw as RawDocument)._id,
      fromVersion: version,
      toVersion: options?.to ?? definition.latest,
      reason: 'a step or a refinement is asynchronous; use migrate() (it returns a promise) instead of migrateSync()',
    });
  }
  return result;
}

const READ_ACTION = 'The stored document was left unchanged; fix the upcaster or the document (molt check lists such documents).';

function runSteps(definition: SchemaDefinition, value: RawDocument, from: number, to: number, id: unknown, timeoutMs: number): MaybePromise<RawDocument> {
  let current = value;
  for (let version = from; version !== to; ) {
    const next = version < to ? version + 1 : version - 1;
    const stepped = applyStep(definition, current, version, next, id, timeoutMs);
    // A version passed through gets its defaults too: the next step is typed with them present.
    const out = next === to ? stepped : settleWith(stepped, (done) => completeDefaults(definition, next, done));
    if (isPromiseLike<RawDocument>(out)) {
      const resumeAt = next;
      return out.then((resolved) => runSteps(definition, resolved, resumeAt, to, id, timeoutMs));
    }
    current = out;
    version = next;
  }
  return current;
}

function applyStep(definition: SchemaDefinition, value: RawDocument, from: number, to: number, id: unknown, timeoutMs: number): MaybePromise<RawDocument> {
  const up = to > from;
  const chain = compiledChain(definition);
  const step: CompiledStep | undefined = up ? chain.up[to - definition.first] : chain.down[from - definition.first];
  const context = { schemaName: definition.name, _id: id, fromVersion: from, toVersion: to };
  if (step === undefined) {
    throw new UpcastError({ ...context, reason: `version ${from} has no downcaster; give .version(${from}, schema, { up, down })` });
  }
  const kind = up ? 'upcaster' : 'downcaster';
  let out: unknown;
  try {
    out = step(value);
  } catch (cause) {
    throw new UpcastError({ ...context, reason: `the ${kind} threw ${describeThrown(cause)}` }, { cause });
  }
  if (isPromiseLike(out)) {
    let timedOut: UpcastError | undefined;
    const timeout = () => (timedOut = new UpcastError({ ...context, reason: `the ${kind} did not settle within ${timeoutMs} ms (upcastTimeoutMs); an async step must resolve or reject` }));
    return withTimeout(Promise.resolve(out), timeoutMs, timeout).then(
      (resolved) => checkStepResult(resolved, value, context, kind),
      (cause: unknown) => {
        if (cause === timedOut) throw cause;
        throw new UpcastError({ ...context, reason: `the ${kind} rejected with ${describeThrown(cause)}` }, { cause });
      },
    );
  }
  return checkStepResult(out, value, context, kind);
}

/** A step must return a document; a step that leaves `_id` out keeps the stored one (MongoDB cannot drop it). */
function checkStepResult(
  out: unknown,
  input: RawDocument,
  context: { schemaName: string; _id: unknown; fromVersion: number; toVersion: number },
  kind: string,
): RawDocument {
  if (!isDocument(out)) {
    const got = out === null ? 'null' : Array.isArray(out) ? 'an array' : typeof out;
    throw new UpcastError({ ...context, reason: `the ${kind} returned ${got}, not a document` });
  }
  if (out._id === undefined && input._id !== undefined) out._id = input._id;
  return out;
}

/**
 * `promise`, or a rejection with `timedOut()` after `ms`. The timer does not keep the process alive;
 * a promise that settles later is ignored (its rejection too).
 */
function withTimeout<T>(promise: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  // Past setTimeout's limit such a limit is none (Node would fire after 1 ms).
  if (!Number.isFinite(ms) || ms > MAX_TIMER_MS) return promise;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
    timer.unref();
  });
  promise.catch(() => undefined);
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

function checkTarget(definition: SchemaDefinition, target: number): void {
  if (!Number.isSafeInteger(target) || target < definition.first || target > definition.latest) {
    throw new InvalidOptionError('to', `schema "${definition.name}" has versions ${definition.first}..${definition.latest}, got ${String(target)}.`);
  }
}

function withoutVersionField(raw: RawDocument, versionField: string, inPlace: boolean): RawDocument {
  if (inPlace) {
    if (versionField in raw) delete raw[versionField];
    return raw;
  }
  // A deep copy of the plain parts: a step that edits a nested object in place must not reach the
  // caller's document (an archived original, a document compared after a round trip).
  const copy: RawDocument = {};
  for (const key of Object.keys(raw)) {
    if (key !== versionField) copy[key] = copyPlain(raw[key]);
  }
  return copy;
}

/** Plain objects, arrays and Dates (which a step may edit in place) copied at every depth; other values (ObjectId, Binary…) shared. */
function copyPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyPlain);
  if (value instanceof Date) return new Date(value.getTime());
  if (!isPlainObject(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = copyPlain(item);
  return copy;
}

function settleWith<T, R>(pending: MaybePromise<T>, then: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return isPromiseLike<T>(pending) ? pending.then(then) : then(pending);
}

function isDocument(value: unknown): value is RawDocument {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True for promises and other thenables. */
export function isPromiseLike<T>(value: unknown): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function describeThrown(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return String(cause);
}
