import type { MongoClient, MongoClientOptions } from 'mongodb';
import type { SweepOptions } from './options.js';
import type { SweepableSchema } from './run/sweep.js';

/** The sweep options a config may set per collection (the run's own are flags: `--dry-run`, `--retry-failed`). @public */
export type MoltCollectionSweepOptions = Omit<SweepOptions, 'signal' | 'logger' | 'onProgress' | 'dryRun' | 'retryFailed'>;

/** One collection the CLI manages. @public */
export interface MoltCollectionConfig extends MoltCollectionSweepOptions {
  /** The collection's name in `db`. */
  readonly name: string;
  /** Its versioned schema (`defineSchema(...).version(...)`). */
  readonly schema: SweepableSchema;
  /** The version `molt verify` requires of every document of this collection (`--min-version` overrides it). */
  readonly minVersion?: number | undefined;
}

/** The databases a config names: one name, a list, a glob (`'tenant_*'`), or a function of the client. @public */
export type MoltDatabases = string | readonly string[] | ((client: MongoClient) => readonly string[] | Promise<readonly string[]>);

/** What `molt.config.ts` exports (as its default export). @public */
export interface MoltConfig {
  /** The connection string. `MONGODB_URI` overrides it; keep credentials in the environment, not in the file. */
  readonly uri?: string | undefined;
  /**
   * The database that holds the collections (and the state and failures collections), or several:
   * a list of names, a glob over the server's databases (`'tenant_*'`, `?` one character), or a
   * function of the connected client returning names. Each database gets its own state, lease and
   * report; `molt --db <name|glob>` overrides it.
   */
  readonly db: MoltDatabases;
  readonly collections: readonly MoltCollectionConfig[];
  /** Passed to `new MongoClient(uri, clientOptions)`. */
  readonly clientOptions?: MongoClientOptions | undefined;
}

/**
 * Types a `molt.config.ts`, the `molt` CLI's configuration (it returns its argument): a misspelled
 * option (`batchsize`) or a run-only one (`dryRun`, a flag of `molt sweep`) does not compile. Exported by
 * both `mongo-molt` and `mongo-molt/cli`; importing it does not load the CLI.
 *
 * ```ts
 * import { defineConfig } from 'mongo-molt';
 * import { User } from "./schemas/user.js";
 * export default defineConfig({ db: 'app', collections: [{ name: 'users', schema: User, batchSize: 500 }] });
 * ```
 * @public
 */
export function defineConfig(config: MoltConfig): MoltConfig {
  return config;
}
