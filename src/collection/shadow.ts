/**
 * Shadow reads: a rehearsal of the next release's chain on live traffic. Each sampled document
 * read through the wrapper is also run, off the read path, through the next schema's chain,
 * validated, and round-tripped through `down` back to this code's latest version where the next
 * chain has downcasters; the outcome is counted (`stats.shadow`) and failures are logged with the
 * `_id` and the error, never the body. Nothing is written. The read pays for one BSON copy of a
 * sampled document; the queue is bounded: when it is full, documents are dropped and counted.
 */
import { isDeepStrictEqual } from 'node:util';
import { BSON, type Document } from 'mongodb';
import type { Logger } from 'pino';
import { describeError } from '../errors.js';
import { migrateDocument, missingDowncaster } from '../migrate/index.js';
import type { SchemaDefinition } from '../schema/types.js';

/** What shadow reads found so far. @public */
export interface ShadowStats {
  /** Documents the next chain migrated and validated (and, where it has downcasters, brought back unchanged). */
  readonly passed: number;
  /** Documents the next chain failed on: an upcaster threw or the result did not validate. */
  readonly failed: number;
  /** Documents that migrated but did not come back the same through the next chain's `down`. */
  readonly lossy: number;
  /** Sampled documents dropped because the queue was full (the read path is never held up). */
  readonly dropped: number;
}

/** Default of `shadowQueueSize`. */
export const DEFAULT_SHADOW_QUEUE_SIZE = 1000;
/** Documents rehearsed per turn of the event loop. */
const PER_TURN = 50;

export class ShadowReader {
  readonly #current: SchemaDefinition;
  readonly #next: SchemaDefinition;
  readonly #rate: number;
  readonly #maxQueue: number;
  readonly #logger: Logger | undefined;
  readonly #roundTrip: boolean;
  readonly #queue: Uint8Array[] = [];
  readonly stats = { passed: 0, failed: 0, lossy: 0, dropped: 0 };
  #draining: Promise<void> | undefined;

  constructor(current: SchemaDefinition, next: SchemaDefinition, options: { rate: number; maxQueue: number; logger: Logger | undefined }) {
    this.#current = current;
    this.#next = next;
    this.#rate = options.rate;
    this.#maxQueue = options.maxQueue;
    this.#logger = options.logger;
    this.#roundTrip = next.latest > current.latest && missingDowncaster(next, current.latest) === undefined;
  }

  /** Samples a raw document as read (before it is migrated in place). Never throws, never waits. */
  offer(raw: Document): void {
    if (this.#rate < 1 && Math.random() >= this.#rate) return;
    if (this.#queue.length >= this.#maxQueue) {
      this.stats.dropped++;
      return;
    }
    try {
      this.#queue.push(BSON.serialize(raw));
    } catch {
      this.stats.dropped++;
      return;
    }
    this.#draining ??= this.#drain();
  }

  /** Resolves once every sampled document so far has been rehearsed. */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        for (const snapshot of this.#queue.splice(0, PER_TURN)) await this.#rehearse(snapshot);
      }
    } finally {
      this.#draining = undefined;
    }
  }

  async #rehearse(snapshot: Uint8Array): Promise<void> {
    const raw = BSON.deserialize(snapshot);
    const id: unknown = raw._id;
    let next: Document;
    try {
      next = (await migrateDocument(this.#next, BSON.deserialize(snapshot), { validate: 'migrated', onNewerVersion: 'error' }, true)).value;
    } catch (error) {
      this.stats.failed++;
      this.#logger?.warn({ _id: id, error: describeError(error) }, 'mongo-molt shadow read: the next release fails on this document');
      return;
    }
    if (this.#roundTrip) {
      try {
        const current = (await migrateDocument(this.#current, raw, { validate: 'never', onNewerVersion: 'passthrough' }, true)).value;
        const back = (await migrateDocument(this.#next, { ...next, [this.#next.versionField]: this.#next.latest }, { to: this.#current.latest, validate: 'never' }, true)).value;
        if (!isDeepStrictEqual(back, current)) {
          this.stats.lossy++;
          this.#logger?.info({ _id: id }, 'mongo-molt shadow read: the next release does not bring this document back unchanged through down');
          return;
        }
      } catch (error) {
        this.stats.lossy++;
        this.#logger?.info({ _id: id, error: describeError(error) }, 'mongo-molt shadow read: the round trip through down failed');
        return;
      }
    }
    this.stats.passed++;
  }
}
