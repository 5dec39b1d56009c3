export { migrate, migrateSync, migrateDocument, isPromiseLike, DEFAULT_UPCAST_TIMEOUT_MS, MAX_TIMER_MS, type MigrateOptions, type MigrationResult } from './engine.js';
export { plainVersion, readVersion } from './read-version.js';
export { losesSomething, lostFields } from './round-trip.js';
export { validateVersion } from './validate.js';
export { compiledChain, compileStep, type CompiledChain, type CompiledStep } from './compile.js';
export { andFilters, migrationTarget, missingDowncaster, type Direction, type MigrationTarget, type PlainFilter } from './target.js';
export {
  DEFAULT_ON_NEWER_VERSION,
  DEFAULT_VALIDATE,
  OnNewerVersion,
  ValidateMode,
} from './modes.js';
export { mapBounded, DEFAULT_UPCAST_CONCURRENCY } from './bounded.js';
