import { PermissionDeniedError } from '../errors.js';
import { codeOf } from './error-code.js';

/** What the failed operation was doing, for the error's message when the server does not say. */
export interface PermissionContext {
  /** The namespace the operation addressed, `db.collection`. */
  readonly namespace?: string | undefined;
  /** What the command run needs, in words (see README: "Least privilege"). */
  readonly required?: string | undefined;
}

const UNAUTHORIZED = 13;
/** Atlas's code for "user is not allowed to do action [x] on [db.coll]". */
const ATLAS_ERROR = 8000;

/**
 * Whether a driver error says the user lacks a privilege (or is not logged in): code 13
 * `Unauthorized`, or Atlas's code 8000 "not allowed to do action". Duck-typed, like
 * `isTransientError`; follows `cause`, where the library wraps driver errors.
 */
export function isPermissionError(error: unknown): boolean {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 5; depth++) {
    const { codeName, message } = current as { codeName?: unknown; message?: unknown };
    const code = codeOf(current);
    if (code === UNAUTHORIZED || codeName === 'Unauthorized') return true;
    if (code === ATLAS_ERROR && typeof message === 'string' && /not allowed to do action/i.test(message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The typed error for a permission error from the server, naming the action and namespace the
 * server refused (read off its message: MongoDB's "not authorized on db to execute command
 * { insert: "coll" … }", Atlas's "not allowed to do action [insert] on [db.coll]", FerretDB's
 * "Command find requires authentication"), else the context's; anything else is returned as it is.
 * The server's message itself is not copied: MongoDB's holds the command, filter values included.
 */
export function asPermissionError(error: unknown, context: PermissionContext = {}): unknown {
  if (error instanceof PermissionDeniedError || !isPermissionError(error)) return error;
  let found: { code?: unknown; message?: unknown } = error as object;
  for (let current: unknown = error; typeof current === 'object' && current !== null; current = (current as { cause?: unknown }).cause) {
    const code = codeOf(current);
    if (code === UNAUTHORIZED || code === ATLAS_ERROR) {
      found = current as object;
      break;
    }
  }
  const message = typeof found.message === 'string' ? found.message : '';
  const mongod = /not authorized on (\S+) to execute command \{ ?(\w+): "([^"]*)"/.exec(message);
  const atlas = /not allowed to do action \[(\w+)\] on \[([^\]]+)\]/i.exec(message);
  const ferret = /command (\w+) requires authentication/i.exec(message);
  const action = mongod?.[2] ?? atlas?.[1] ?? ferret?.[1];
  return new PermissionDeniedError({
    action,
    namespace: mongod ? `${mongod[1]}.${mongod[3]}` : atlas?.[2],
    workingOn: context.namespace,
    code: codeOf(found),
    unauthenticated: ferret !== null,
    required: context.required,
  }, { cause: error });
}

