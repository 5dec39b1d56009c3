export { defineConfig, type MoltCollectionConfig, type MoltCollectionSweepOptions, type MoltConfig, type MoltDatabases } from '../sweeper/define-config.js';
export { runCli, ExitCode, type CliIo } from './run.js';
export { ConfigError } from '../errors.js';
