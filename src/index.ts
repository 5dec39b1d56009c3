export {
  MoltError,
  DocumentError,
  SchemaDefinitionError,
  InvalidOptionError,
  InvalidVersionError,
  NewerVersionError,
  UpcastError,
  ValidationError,
  ConfigError,
  QueryTranslationError,
  UpdateContentionError,
  DocumentWriteError,
  DocumentTooLargeError,
  UnsupportedFieldNameError,
  PermissionDeniedError,
  LossyDowncastError,
  type DocumentErrorContext,
} from './errors.js';
export * from './schema/index.js';
export { step, type AddStep, type ConvertFunctions, type ConvertStep, type DeclarativeStep, type Expression, type RemoveStep, type RenameStep } from './steps/index.js';
export {
  DEFAULT_ON_NEWER_VERSION,
  DEFAULT_UPCAST_CONCURRENCY,
  DEFAULT_UPCAST_TIMEOUT_MS,
  DEFAULT_VALIDATE,
  OnNewerVersion,
  ValidateMode,
  type MigrateOptions,
  type MigrationResult,
} from './migrate/index.js';
export * from './collection/index.js';
export type * from './types/index.js';
export * from './sweeper/index.js';
