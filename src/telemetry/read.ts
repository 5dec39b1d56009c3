import type { Attributes } from '@opentelemetry/api';
import { otelApi } from './api.js';
import { bookkeeping, meters } from './instruments.js';

/** Where a wrapper reads: its read counters' attributes. */
export interface ReadPlace {
  readonly db: string;
  readonly collection: string;
  readonly schema: string;
}

/**
 * One `versioned()` wrapper's read counters in OpenTelemetry: `molt.read.upcasts` and
 * `molt.read.write_backs`, besides its `stats` (which stay the owner of its counts). A read asks
 * {@link ReadTelemetry.recorder} once (one look at the global meter provider) and, while no SDK
 * records, gets `undefined` and keeps nothing; so an SDK registered after the wrapper was made
 * counts from the wrapper's next read on. What is kept is summed and added once per turn of the
 * event loop (`setImmediate`, after the turn's I/O callbacks): a find of 5,000 stale documents
 * makes one `add`, and so does a cursor read one by one (`for await`) through the documents of
 * one batch from the server, where each step runs in a job of its own. The SDK's `add` costs
 * about a microsecond each.
 */
export class ReadTelemetry {
  readonly #place: ReadPlace;
  /** Made on the first `add`: a wrapper read without an SDK never makes it. */
  #attributes: Attributes | undefined;
  #upcasts = 0;
  #writtenBack = 0;
  #scheduled = false;

  /** A wrapper's read telemetry; `undefined` when `@opentelemetry/api` is not installed (no cost at all). */
  static for(place: ReadPlace): ReadTelemetry | undefined {
    return otelApi() === undefined ? undefined : new ReadTelemetry(place);
  }

  private constructor(place: ReadPlace) {
    this.#place = place;
  }

  /** This, to count a read's upcasts and write-backs in, while a meter provider records; `undefined` otherwise. */
  recorder(): ReadTelemetry | undefined {
    return meters() === undefined ? undefined : this;
  }

  /** A document upcast on read. */
  upcast(): void {
    this.#upcasts++;
    this.#later();
  }

  /** Documents written back after an upcast on read. */
  wroteBack(count: number): void {
    this.#writtenBack += count;
    this.#later();
  }

  #later(): void {
    bookkeeping.calls++;
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#add);
  }

  /** Adds what the job counted, to the provider registered now (none since: dropped). */
  readonly #add = (): void => {
    const otel = meters();
    const attributes = (this.#attributes ??= { 'db.namespace': this.#place.db, 'db.collection.name': this.#place.collection, 'molt.schema': this.#place.schema });
    if (otel !== undefined && this.#upcasts > 0) otel.readUpcasts.add(this.#upcasts, attributes);
    if (otel !== undefined && this.#writtenBack > 0) otel.readWriteBacks.add(this.#writtenBack, attributes);
    this.#upcasts = this.#writtenBack = 0;
    this.#scheduled = false;
  };
}
