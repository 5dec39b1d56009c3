/**
 * Dotted paths over plain documents, without mutating the input: every object on a written path is
 * copied first, so a step never changes the document it was given (the stored copy may still be
 * needed for a compare-and-swap). Paths walk embedded documents only: an array or a scalar on the
 * way means the path is absent, as `$rename` sees it.
 */

/** A plain object: what a path may walk through. */
export type PlainObject = Record<string, unknown>;

const ABSENT = Symbol('absent');

export function isPlainObject(value: unknown): value is PlainObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export function splitPath(path: string): string[] {
  return path.split('.');
}

/** The value at `path`, or `ABSENT` (exported as a check, `hasPath`). */
function lookup(doc: PlainObject, path: string): unknown {
  let current: unknown = doc;
  for (const key of splitPath(path)) {
    if (!isPlainObject(current) || !Object.hasOwn(current, key)) return ABSENT;
    current = current[key];
  }
  return current;
}

export function hasPath(doc: PlainObject, path: string): boolean {
  return lookup(doc, path) !== ABSENT;
}

export function getPath(doc: PlainObject, path: string): unknown {
  const value = lookup(doc, path);
  return value === ABSENT ? undefined : value;
}

/** A copy of `doc` with `value` at `path`, creating embedded documents on the way. */
export function setPath(doc: PlainObject, path: string, value: unknown): PlainObject {
  const [head, ...rest] = splitPath(path) as [string, ...string[]];
  const copy: PlainObject = { ...doc };
  if (rest.length === 0) {
    copy[head] = value;
    return copy;
  }
  const child = copy[head];
  copy[head] = setPath(isPlainObject(child) ? child : {}, rest.join('.'), value);
  return copy;
}

/** A copy of `doc` without `path` (the same object when the path is absent). */
export function unsetPath(doc: PlainObject, path: string): PlainObject {
  if (!hasPath(doc, path)) return doc;
  const [head, ...rest] = splitPath(path) as [string, ...string[]];
  const copy: PlainObject = { ...doc };
  if (rest.length === 0) {
    delete copy[head];
    return copy;
  }
  copy[head] = unsetPath(copy[head] as PlainObject, rest.join('.'));
  return copy;
}

/** `path` is `prefix` or lies inside it (`a.b` is inside `a`). */
export function isWithin(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}.`);
}

/** `path` with its leading `from` replaced by `to` (`path` must be within `from`). */
export function rebase(path: string, from: string, to: string): string {
  return to + path.slice(from.length);
}
