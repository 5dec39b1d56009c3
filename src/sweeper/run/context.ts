import type { Collection, Document } from 'mongodb';
import type { Logger } from 'pino';
import type { MigrationTarget } from '../../migrate/index.js';
import type { SchemaDefinition } from '../../schema/types.js';
import type { ResolvedSweepOptions } from '../options.js';
import type { RunCalls } from './run-calls.js';
import type { Tally } from './tally.js';

/** The parts of one run that its steps share: the stale-index step, the processors, the recount. */
export interface RunContext {
  readonly collection: Collection<Document>;
  readonly definition: SchemaDefinition;
  readonly target: MigrationTarget;
  readonly options: ResolvedSweepOptions;
  readonly tally: Tally;
  readonly calls: RunCalls;
  readonly log: Logger | undefined;
}
