import { inspect } from 'node:util';
import type { z } from 'zod';

/** Structured context shared by errors about one document. */
export interface DocumentErrorContext {
  /** The name given to `defineSchema`. */
  readonly schemaName: string;
  /** The document's `_id`, when the document has one. */
  readonly _id?: unknown;
}

/**
 * The base class of every error mongo-molt throws. Branch on `instanceof` (or on the fixed
 * `name`), never on the message text.
 * @public
 */
export class MoltError extends Error {
  override name = 'MoltError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A versioned schema was defined wrongly: versions out of order, a gap, a duplicate, a value
 * that is not a zod schema, a missing upcaster. Thrown by `defineSchema(...).version(...)`, never
 * when a document is read.
 * @public
 */
export class SchemaDefinitionError extends MoltError {
  override name = 'SchemaDefinitionError' as const;
  readonly schemaName: string;

  constructor(schemaName: string, message: string, options?: { cause?: unknown }) {
    super(`Schema "${schemaName}": ${message}`, options);
    this.schemaName = schemaName;
  }
}

/**
 * An option passed to `versioned`, `sweep` or the CLI has a wrong value. Nothing was read or written.
 * @public
 */
export class InvalidOptionError extends MoltError {
  override name = 'InvalidOptionError' as const;
  /** The option's name, e.g. `batchSize`. */
  readonly option: string;

  constructor(option: string, message: string) {
    super(`Option "${option}": ${message}`);
    this.option = option;
  }
}

/**
 * The base of the errors about one document: which schema, which `_id`. Catch it to handle every
 * document-level failure (a bad version, a failing upcaster, a failed validation) alike.
 * @public
 */
export class DocumentError extends MoltError {
  override name: string = 'DocumentError';
  readonly schemaName: string;
  readonly _id: unknown;

  constructor(context: DocumentErrorContext, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.schemaName = context.schemaName;
    this._id = context._id;
  }
}

/**
 * A stored document's version field holds something that is not a version this schema knows
 * (not a positive integer, or below the first registered version).
 * @public
 */
export class InvalidVersionError extends DocumentError {
  override name = 'InvalidVersionError' as const;
  /** The raw value found in the version field. */
  readonly version: unknown;
  readonly versionField: string;

  constructor(context: DocumentErrorContext & { version: unknown; versionField: string; reason: string }) {
    super(
      context,
      `Document ${describeId(context._id)} of schema "${context.schemaName}" has ${context.versionField}=${describeValue(context.version)}: ${context.reason}. ` +
        `Fix the stored value (the versions this schema knows are positive integers it registered); the document was left unchanged.`,
    );
    this.version = context.version;
    this.versionField = context.versionField;
  }
}

/**
 * A stored document is at a version newer than the latest this code knows: newer code wrote it.
 * Deploy the newer schema here, or pass `onNewerVersion: 'passthrough'` to hand such documents out untouched.
 * @public
 */
export class NewerVersionError extends DocumentError {
  override name = 'NewerVersionError' as const;
  readonly version: number;
  readonly latestVersion: number;

  constructor(context: DocumentErrorContext & { version: number; latestVersion: number }) {
    super(
      context,
      `Document ${describeId(context._id)} of schema "${context.schemaName}" is at version ${context.version}, newer than the latest this code knows (${context.latestVersion}). ` +
        `Deploy the schema that defines version ${context.version}, or use onNewerVersion: 'passthrough' while old and new code run side by side; the document was left unchanged.`,
    );
    this.version = context.version;
    this.latestVersion = context.latestVersion;
  }
}

/**
 * An upcaster (or downcaster) threw, returned something that is not a document, or no
 * downcaster exists for a requested step. `cause` holds what was thrown.
 * @public
 */
export class UpcastError extends DocumentError {
  override name = 'UpcastError' as const;
  /** The version of the document the failing step started from. */
  readonly fromVersion: number;
  /** The version the failing step was to produce. */
  readonly toVersion: number;

  constructor(
    context: DocumentErrorContext & { fromVersion: number; toVersion: number; reason: string; action?: string },
    options?: { cause?: unknown },
  ) {
    super(
      context,
      `Migrating document ${describeId(context._id)} of schema "${context.schemaName}" from version ${context.fromVersion} to ${context.toVersion} failed: ${context.reason}. ` +
        (context.action ?? `Fix the step ${context.fromVersion} -> ${context.toVersion} (or the document); the stored document was left unchanged.`),
      options,
    );
    this.fromVersion = context.fromVersion;
    this.toVersion = context.toVersion;
  }
}

/**
 * A document does not satisfy the zod schema of its version: read after an upcast, or written
 * by the app. `issues` are zod's issues; nothing was written.
 * @public
 */
export class ValidationError extends DocumentError {
  override name = 'ValidationError' as const;
  /** The version whose schema rejected the document. */
  readonly version: number;
  readonly issues: readonly z.core.$ZodIssue[];

  constructor(
    context: DocumentErrorContext & { version: number; issues: readonly z.core.$ZodIssue[]; action: string },
    options?: { cause?: unknown },
  ) {
    super(
      context,
      `Document ${describeId(context._id)} does not match version ${context.version} of schema "${context.schemaName}": ${summarizeIssues(context.issues)}. ${context.action}`,
      options,
    );
    this.version = context.version;
    this.issues = context.issues;
  }
}

/**
 * An update kept finding documents that older code writes at an old version while it migrated
 * them, and gave up after `rounds` rounds; nothing was lost, the update may have run on part of
 * its matches. Retry it, or pin `writeVersion` in the older code so it stops writing old versions.
 * @public
 */
export class UpdateContentionError extends MoltError {
  override name = 'UpdateContentionError' as const;
  /** The wrapper method that gave up, e.g. `updateOne`. */
  readonly operation: string;
  readonly rounds: number;

  constructor(operation: string, rounds: number) {
    super(
      `${operation} found its matches rewritten at an old version ${rounds} times in a row while migrating them: other code keeps writing old versions of these documents. ` +
        'Retry the update, or pin writeVersion in the older code (or deploy the newer schema there) so that it stops writing old versions.',
    );
    this.operation = operation;
    this.rounds = rounds;
  }
}

/**
 * The server refused to store a migrated document (a unique index, a document validator, a size
 * limit) while an update migrated its matches first; the update did not run. `code` is the
 * server's error code.
 * @public
 */
export class DocumentWriteError extends DocumentError {
  override name = 'DocumentWriteError' as const;
  readonly code: number | undefined;

  constructor(context: DocumentErrorContext & { code: number | undefined; reason: string }) {
    super(
      context,
      `The server refused to store document ${describeId(context._id)} of schema "${context.schemaName}" migrated before an update (code ${String(context.code)}): ${context.reason}. ` +
        'Fix what the server objects to (often a unique index or a validator that the migrated shape breaks); the update was not run.',
    );
    this.code = context.code;
  }
}

/**
 * A reverse sweep (`to` below the latest version) would drop something a document holds: brought
 * down and back up, `lost` would not come back (a field the target version does not keep, or a
 * value it changes). Without `allowLoss` the document is not written: recorded as a failure.
 * @public
 */
export class LossyDowncastError extends DocumentError {
  override name = 'LossyDowncastError' as const;
  readonly fromVersion: number;
  readonly toVersion: number;
  /** The top-level fields that would not come back. */
  readonly lost: readonly string[];

  constructor(context: DocumentErrorContext & { fromVersion: number; toVersion: number; lost: readonly string[] }) {
    super(
      context,
      `Converting document ${describeId(context._id)} of schema "${context.schemaName}" down from version ${context.fromVersion} to ${context.toVersion} would lose ${context.lost.map((key) => `"${key}"`).join(', ')} (it would not come back up). ` +
        'It was not written: sweep with allowLoss: true (molt sweep --allow-loss), with archive: true to keep the originals, to convert it anyway.',
    );
    this.fromVersion = context.fromVersion;
    this.toVersion = context.toVersion;
    this.lost = context.lost;
  }
}

/**
 * A document to write is larger than the server's limit for one document (16 MiB of BSON).
 * Nothing was written.
 * @public
 */
export class DocumentTooLargeError extends DocumentError {
  override name = 'DocumentTooLargeError' as const;
  /** The document's size as BSON, in bytes. */
  readonly size: number;
  readonly maxSize: number;

  constructor(context: DocumentErrorContext & { size: number; maxSize: number }) {
    super(
      context,
      `Document ${describeId(context._id)} of schema "${context.schemaName}" is ${context.size} bytes of BSON, over the ${context.maxSize}-byte limit of one MongoDB document. ` +
        'Nothing was written; keep large data out of the document (GridFS, or a collection of its own).',
    );
    this.size = context.size;
    this.maxSize = context.maxSize;
  }
}

/**
 * A document has top-level field names that the server cannot compare or store through the
 * compare-and-swap replace every migration write is: a name starting with `$` (no server stores
 * one through a replacement), or, on mongo-java-server, a name containing `.` (its filters read it
 * as a path, so the document never matches). Nothing was written.
 * @public
 */
export class UnsupportedFieldNameError extends DocumentError {
  override name = 'UnsupportedFieldNameError' as const;
  /** The top-level field names to blame. */
  readonly fields: readonly string[];

  constructor(context: DocumentErrorContext & { fields: readonly string[]; reason: string }) {
    super(
      context,
      `Document ${describeId(context._id)} of schema "${context.schemaName}" has top-level field names ${context.fields.map((field) => `"${field}"`).join(', ')} that ${context.reason}, so no migration can be written for it. ` +
        'Nothing was written; store the document under other field names with the plain driver (replaceOne by _id), then sweep again.',
    );
    this.fields = Object.freeze([...context.fields]);
  }
}

/** The name and message of anything thrown (for logs and failure records). */
export function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/**
 * Renders an `_id` for a message: short, never a document body, and telling BSON types apart (a
 * string `"CAEC"` and the binary whose base64 is `CAEC`, a date and its ISO string, a UUID and an
 * ObjectId, `Long('5')` and `5` are different documents). Strings keep their JSON quotes; every
 * other value is shown as Node shows it, which for BSON values is the constructor that makes it.
 */
export function describeId(id: unknown): string {
  if (id === undefined) return '(without _id)';
  return `_id=${describeValue(id)}`;
}

const ID_INSPECT_OPTIONS = { depth: 3, breakLength: Infinity, compact: true, maxArrayLength: 10, maxStringLength: 80 } as const;

function describeValue(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : inspect(value, ID_INSPECT_OPTIONS);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function summarizeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, 3).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return shown.join('; ') + more;
}

/**
 * The `molt` configuration (`molt.config.ts`) is missing, does not load, or holds a wrong value;
 * `path` is the file, when one was found. The CLI exits with code 2.
 * @public
 */
export class ConfigError extends MoltError {
  override name = 'ConfigError' as const;
  /** The configuration file, when one was found. */
  readonly path: string | undefined;

  constructor(message: string, options?: { cause?: unknown; path?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.path = options?.path;
  }
}

/**
 * A filter or sort written against the latest shape cannot be rewritten exactly for documents
 * stored at an older version (a range on a converted value, a sort on a renamed field, a path
 * through a function step…). Thrown before any I/O: never a silently wrong answer.
 * @public
 */
export class QueryTranslationError extends MoltError {
  override name = 'QueryTranslationError' as const;
  readonly schemaName: string;
  /** The field path of the latest shape the filter or sort names. */
  readonly field: string;
  /** The operator that cannot be translated (`$gt`, `$regex`, `sort`…), when one is to blame. */
  readonly operator: string | undefined;
  /** The stored versions for which the translation is impossible. */
  readonly versions: readonly number[];

  constructor(context: { schemaName: string; field: string; operator?: string; versions: readonly number[]; reason: string }) {
    const where = context.versions.length === 1 ? `version ${context.versions[0]}` : `versions ${context.versions.join(', ')}`;
    super(
      `Schema "${context.schemaName}": cannot translate ${context.operator ? `${context.operator} on ` : ''}"${context.field}" for documents stored at ${where}: ${context.reason}. ` +
        `Nothing was read or written. Query through .collection with the stored field names, or pass translateQueries: false; translation follows the schema's versions, not the data, so once every document is migrated (molt verify), retire the older versions (start the chain at the latest: defineSchema(name, { unversioned: N }).version(N, …)).`,
    );
    this.schemaName = context.schemaName;
    this.field = context.field;
    this.operator = context.operator;
    this.versions = Object.freeze([...context.versions]);
  }
}

/**
 * The server refused an operation because the user lacks a privilege (MongoDB's code 13
 * `Unauthorized`, Atlas's "not allowed to do action", or a command sent without logging in).
 * Names the operation refused and the collection, when the server says them, and what the
 * command run needs; nothing more was done. Grant the privilege (README: "Least privilege") or
 * run with a user that has it.
 * @public
 */
export class PermissionDeniedError extends MoltError {
  override name = 'PermissionDeniedError' as const;
  /** The server's action refused (`find`, `insert`, `update`, `createIndexes`…), when known. */
  readonly action: string | undefined;
  /**
   * The namespace refused, `db.collection`, when the server names it; else the collection the
   * operation worked on (a sweep's collection, though the refused write may have been to its state).
   */
  readonly namespace: string | undefined;
  /** The server's error code (13, or 8000 on Atlas). */
  readonly code: number | undefined;
  /** Whether the connection was not logged in at all (no or wrong credentials), rather than lacking a role. */
  readonly unauthenticated: boolean;
  /** What the operation that failed needs, e.g. `read on "app.users"; read/write on "app.molt_sweeps"`. */
  readonly required: string | undefined;

  constructor(
    context: { action?: string | undefined; namespace?: string | undefined; workingOn?: string | undefined; code?: number | undefined; unauthenticated?: boolean; required?: string | undefined },
    options?: { cause?: unknown },
  ) {
    const where = context.namespace ? ` on "${context.namespace}"` : context.workingOn ? ` while working on "${context.workingOn}"` : '';
    const what = `${context.action ?? 'an operation'}${where}`;
    const why = context.unauthenticated ? 'the connection is not logged in (give a user and password in the connection string)' : 'the user lacks the privilege for it';
    super(
      `The server refused ${what} (code ${String(context.code)}, Unauthorized): ${why}. ` +
        (context.required ? `This needs ${context.required}. ` : '') +
        'Grant the privilege (README: "Least privilege") or run with a user that has it; nothing more was done.',
      options,
    );
    this.action = context.action;
    this.namespace = context.namespace ?? context.workingOn;
    this.code = context.code;
    this.unauthenticated = context.unauthenticated ?? false;
    this.required = context.required;
  }
}
