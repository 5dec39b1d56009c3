/**
 * Runs a list of declarative steps on a document, up or down. Pure: the input is never modified.
 */
import { getPath, hasPath, isPlainObject, setPath, unsetPath, type PlainObject } from './paths.js';
import type { DeclarativeStep } from './step.js';

/** Applies `steps` in order, going up. */
export function applyUp(steps: readonly DeclarativeStep[], doc: PlainObject): PlainObject {
  let current = doc;
  for (const s of steps) current = upOne(s, current);
  return current;
}

/** Whether every step can be undone: no `remove`, every `convert` has a `down`. */
export function isInvertible(steps: readonly DeclarativeStep[]): boolean {
  return steps.every((s) => s.kind !== 'remove' && (s.kind !== 'convert' || s.down !== undefined));
}

/** Undoes `steps` in reverse order. Only for invertible lists (see `isInvertible`). */
export function applyDown(steps: readonly DeclarativeStep[], doc: PlainObject): PlainObject {
  let current = doc;
  for (let index = steps.length - 1; index >= 0; index -= 1) current = downOne(steps[index] as DeclarativeStep, current);
  return current;
}

function upOne(s: DeclarativeStep, doc: PlainObject): PlainObject {
  switch (s.kind) {
    case 'rename':
      return move(doc, s.from, s.to, (value) => value);
    case 'add':
      return hasPath(doc, s.field) ? doc : setPath(doc, s.field, cloneDefault(s.value));
    case 'remove':
      return unsetPath(doc, s.field);
    case 'convert':
      return move(doc, s.from, s.to, s.up as (value: unknown) => unknown);
  }
}

function downOne(s: DeclarativeStep, doc: PlainObject): PlainObject {
  switch (s.kind) {
    case 'rename':
      return move(doc, s.to, s.from, (value) => value);
    case 'add':
      return unsetPath(doc, s.field);
    case 'remove':
      throw new Error(`step.remove('${s.field}') cannot be undone`);
    case 'convert': {
      const down = s.down;
      if (down === undefined) throw new Error(`step.convert('${s.from}', '${s.to}') has no down`);
      return move(doc, s.to, s.from, down as (value: unknown) => unknown);
    }
  }
}

/** Moves the value at `from` to `to` through `map`; an absent `from` leaves the document as it is. */
function move(doc: PlainObject, from: string, to: string, map: (value: unknown) => unknown): PlainObject {
  if (!hasPath(doc, from)) return doc;
  const value = map(getPath(doc, from));
  return setPath(from === to ? doc : unsetPath(doc, from), to, value);
}

/** Each document gets its own copy of an object or array default. */
function cloneDefault(value: unknown): unknown {
  return isPlainObject(value) || Array.isArray(value) ? structuredClone(value) : value;
}

/**
 * Where the values of `doc` land when `steps` run `direction`, each value as it was: a rename or a
 * convert moves it to its target path (a convert's function is not run), a remove drops it, an add
 * adds nothing. Storage uses it to lay the document as read out at the new paths, so a value a
 * step moved but did not change keeps the BSON type it was stored with.
 */
export function carryValues(steps: readonly DeclarativeStep[], direction: 'up' | 'down', doc: PlainObject): PlainObject {
  const keep = (value: unknown) => value;
  let current = doc;
  const ordered = direction === 'up' ? steps : [...steps].reverse();
  for (const s of ordered) {
    if (s.kind === 'add') {
      if (direction === 'down') current = unsetPath(current, s.field);
    } else if (s.kind === 'remove') {
      current = unsetPath(current, s.field);
    } else {
      current = direction === 'up' ? move(current, s.from, s.to, keep) : move(current, s.to, s.from, keep);
    }
  }
  return current;
}
