import type { Document } from 'mongodb';
import type { KeysetPages } from '../stale-pages.js';

/** Runs one server call with the sweep's retries (and, for the pages it waits on, its timing). */
type Call = <T>(operation: () => Promise<T>) => Promise<T>;

/**
 * Stale pages read one ahead: while the sweeper upcasts and writes a page, the next one is read,
 * and prepared (upcast) as soon as it has arrived, so that the server's work and the client's
 * overlap instead of following each other. A page read ahead is handed out only when the page
 * asked for is the one after the `_id` it was read after (the checkpoint); otherwise it is
 * dropped and the cursor reopened there, so a page is never skipped or taken twice.
 */
export class PagesReadAhead<Prepared> {
  readonly #pages: KeysetPages;
  readonly #retry: Call;
  #ahead: { readonly after: unknown; readonly page: Promise<Document[]>; prepared?: Promise<Prepared> } | undefined;

  /** `retry` wraps the reads made ahead (not timed: they overlap the batch, so their time is not the server's answer time). */
  constructor(pages: KeysetPages, retry: Call) {
    this.#pages = pages;
    this.#retry = retry;
  }

  /**
   * The page after `lastId`, with what `prepareNext` made of it when it was read ahead; `timed`
   * wraps a fresh read.
   */
  async take(lastId: unknown, timed: Call): Promise<{ page: Document[]; prepared: Promise<Prepared> | undefined }> {
    const ahead = this.#ahead;
    this.#ahead = undefined;
    if (ahead !== undefined && ahead.after === lastId) return { page: await ahead.page, prepared: ahead.prepared };
    if (ahead !== undefined) {
      await settled(ahead);
      await this.#pages.close();
    }
    return { page: await timed(() => this.#pages.next(lastId)), prepared: undefined };
  }

  /** Starts reading the page after `after`. A read that fails is thrown when its page is taken. */
  readNext(after: unknown): void {
    const page = this.#retry(() => this.#pages.next(after));
    page.catch(() => undefined);
    this.#ahead = { after, page };
  }

  /**
   * Prepares the page read ahead with `prepare`, once it has arrived and `before` (this page's own
   * preparation) has settled: never two preparations at once.
   */
  prepareNext(before: Promise<unknown>, prepare: (page: Document[]) => Prepared | Promise<Prepared>): void {
    const ahead = this.#ahead;
    if (ahead === undefined) return;
    const prepared = Promise.all([ahead.page, before]).then(([page]) => prepare(page));
    prepared.catch(() => undefined);
    ahead.prepared = prepared;
  }

  /** Settles what was started ahead (no preparation runs on after the sweep has reported), then closes the cursor. Never throws. */
  async close(): Promise<void> {
    if (this.#ahead !== undefined) await settled(this.#ahead);
    this.#ahead = undefined;
    await this.#pages.close();
  }
}

async function settled(ahead: { readonly page: Promise<unknown>; readonly prepared?: Promise<unknown> }): Promise<void> {
  await ahead.page.catch(() => undefined);
  await ahead.prepared?.catch(() => undefined);
}
