import { databaseOf, type ServerCapabilities } from '../../server/index.js';
import { Archive, BulkWriter, STORED_BSON_OPTIONS } from '../../storage/index.js';
import type { FailureStore } from '../failures.js';
import type { ServerPlanResult } from '../server-plan.js';
import { BatchProcessor } from './batch-processor.js';
import type { RunContext } from './context.js';
import type { Pacer } from './pacing.js';
import { ServerBatchProcessor } from './server-batch.js';
import { serverMode } from './server-mode.js';
import type { Outcome } from './tally.js';

/** What a run's batch processors are made of, besides the run's shared parts. */
export interface ProcessorsContext extends RunContext {
  readonly serverPlan: ServerPlanResult;
  readonly capabilities: ServerCapabilities;
  readonly failures: FailureStore;
  readonly pacer: Pacer;
}

/** A run's batch processors: always the client's (a server batch hands it what the server cannot do), and the server's when batches run there. */
export interface Processors {
  readonly client: BatchProcessor;
  readonly server: ServerBatchProcessor | undefined;
}

/**
 * Builds the processors of a run, and decides where its batches run (see {@link serverMode}): on
 * the client, saying why when `auto` falls back (in the log and the report), or on the server.
 * Returns the outcome that stops a `server` run that cannot have it.
 */
export function batchProcessors(context: ProcessorsContext): Processors | Outcome {
  const { collection, definition, target, serverPlan: { plan: serverPlan, clientOnly }, options, capabilities, failures, pacer, tally, calls, log } = context;
  const db = databaseOf(collection);
  const writer = new BulkWriter(collection, { capabilities: () => Promise.resolve(capabilities), log, call: (operation) => calls.timed(operation), limit: calls.writeLimit });
  const plan = { definition, target, captureDocuments: options.captureDocuments, upcastTimeoutMs: options.upcastTimeoutMs, maxDocumentBytes: capabilities.maxBsonObjectSize, allowLoss: options.allowLoss };
  const archive = options.archive ? new Archive(db, options.archiveCollection, collection.collectionName, options.archiveTtlMs, calls.writeLimit) : undefined;
  const readStale = (ids: readonly unknown[]) => calls.timed(() => collection.find({ $and: [target.staleFilter, { _id: { $in: [...ids] } }] }, { ...STORED_BSON_OPTIONS, ...calls.limited() }).toArray());
  const client = new BatchProcessor(plan, options, { writer, failures, pacer, tally, log, retry: (operation) => calls.retry(operation), archive, readStale });
  const mode = serverMode(options, { plan: serverPlan, clientOnly }, target, capabilities);
  if (typeof mode === 'object') return mode;
  if (typeof mode === 'string' && options.mode !== 'client') {
    tally.clientReason = mode;
    log?.info({ mode: options.mode, reason: mode }, 'batches run on the client');
  }
  if (mode !== true) return { client, server: undefined };
  const server = new ServerBatchProcessor({
    collection, target, plan: serverPlan, client, options, pacer, tally, timed: (operation) => calls.timed(operation), log, limit: calls.limit, writeLimit: calls.writeLimit,
  });
  return { client, server };
}
