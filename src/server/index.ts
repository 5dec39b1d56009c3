export { capabilitiesFrom, FERRETDB_1_MAX_BULK, serverCapabilities, type ServerCapabilities, type ServerKind } from './capabilities.js';
export { isTransientError, isTransientMessage } from './transient.js';
export { databaseOf, ownView } from './database.js';
export { matchedAny } from './write-answers.js';
export { libraryDatabase, LIBRARY_BSON_OPTIONS } from './bson-options.js';
export { limited, TimeBudgetSpentError, untilLimit, type OperationLimit } from './operation-limit.js';
export { asPermissionError, isPermissionError, type PermissionContext } from './permission.js';
