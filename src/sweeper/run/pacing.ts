import type { Logger } from 'pino';
import { MAX_RETRY_DELAY_MS, type ResolvedSweepOptions } from '../options.js';
import { TokenBucket } from './token-bucket.js';

/**
 * The sweep's pace: a token bucket of documents per second, a pause between batches, and a
 * backoff as long as the batch itself when the server got much slower than usual.
 */
export class Pacer {
  readonly #options: ResolvedSweepOptions;
  readonly #bucket: TokenBucket;
  readonly #log: Logger | undefined;
  /** Server milliseconds per document, smoothed: a batch far slower than this backs off. */
  #msPerDocument: number | undefined;

  /** `bucket`: one shared with other runs (a plan's workers in this process), else a bucket of its own. */
  constructor(options: ResolvedSweepOptions, log: Logger | undefined, bucket?: TokenBucket) {
    this.#options = options;
    this.#log = log;
    this.#bucket = bucket ?? Pacer.bucket(options);
  }

  /** The run's token bucket: the first batch goes at once; from there the rate holds (a full bucket at the start would let a whole second's worth through in a burst on top of it). */
  static bucket(options: ResolvedSweepOptions): TokenBucket {
    return new TokenBucket(options.ratePerSecond, Math.max(options.batchSize, options.ratePerSecond), options.clock, options.batchSize);
  }

  /** Waits for the tokens of `documents` (returns early when the signal aborts). */
  async take(documents: number): Promise<void> {
    await this.#bucket.take(documents, this.#options.signal);
  }

  /** `pauseMs`, plus a backoff when the batch's server time per document more than doubled. */
  async pause(batchLength: number, serverMs: number): Promise<void> {
    const { pauseMs, clock, signal } = this.#options;
    const perDocument = serverMs / Math.max(1, batchLength);
    let backoff = 0;
    if (this.#msPerDocument === undefined) {
      this.#msPerDocument = perDocument;
    } else {
      if (perDocument > 2 * this.#msPerDocument && serverMs > 20) {
        backoff = Math.min(serverMs, MAX_RETRY_DELAY_MS);
        this.#log?.info({ batchMs: Math.round(serverMs), backoffMs: Math.round(backoff) }, 'the server slowed down: backing off');
      }
      this.#msPerDocument = 0.8 * this.#msPerDocument + 0.2 * perDocument;
    }
    if (pauseMs + backoff > 0) await clock.sleep(pauseMs + backoff, signal);
  }
}
