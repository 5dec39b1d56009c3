import type { Document } from 'mongodb';
import { InvalidOptionError } from '../errors.js';

/**
 * A projection applied in memory to a document of the latest shape: documents are fetched whole
 * so that stale ones can be upcast first. Supports inclusion and exclusion of fields and dotted
 * paths (`1`/`0`/`true`/`false`), like the server; projection operators are refused up front.
 */
export interface CompiledProjection {
  apply(doc: Document): Document;
}

export function compileProjection(projection: Document): CompiledProjection {
  let includeId = true;
  const paths: string[][] = [];
  let inclusion: boolean | undefined;
  for (const [key, value] of Object.entries(projection)) {
    const on = value === 1 || value === true;
    const off = value === 0 || value === false;
    if ((!on && !off) || key.includes('$')) {
      throw new InvalidOptionError(
        'projection',
        `field "${key}": mongo-molt projects documents after upcasting them and supports only 1/0/true/false on field paths; for operators ($slice, $elemMatch, positional $, expressions) read the whole document, or use .collection for raw access.`,
      );
    }
    if (key === '_id') {
      includeId = on;
      continue;
    }
    if (inclusion !== undefined && inclusion !== on) {
      throw new InvalidOptionError('projection', 'cannot mix inclusion and exclusion (except for _id), as in MongoDB.');
    }
    inclusion = on;
    paths.push(key.split('.'));
  }
  if (inclusion === undefined) {
    return { apply: (doc) => (includeId ? doc : omit(doc, [['_id']])) };
  }
  if (inclusion) {
    return {
      apply(doc) {
        const out: Document = includeId && doc._id !== undefined ? { _id: doc._id } : {};
        for (const path of paths) copyPath(doc, out, path);
        // The server returns the fields in the document's order, whatever the projection's order.
        return inSourceOrder(doc, out);
      },
    };
  }
  const excluded = includeId ? paths : [...paths, ['_id']];
  return { apply: (doc) => omit(doc, excluded) };
}

/** `projected` (a projection of `source`) with its fields, at every depth of embedded documents, in `source`'s order. */
function inSourceOrder(source: Document, projected: Document): Document {
  const out: Document = {};
  for (const key of Object.keys(source)) {
    if (!(key in projected)) continue;
    const [from, to] = [source[key] as unknown, projected[key] as unknown];
    out[key] = isEmbedded(from) && isEmbedded(to) ? inSourceOrder(from, to) : to;
  }
  return out;
}

function isEmbedded(value: unknown): value is Document {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

function copyPath(source: unknown, target: Document, path: readonly string[]): void {
  const [head, ...rest] = path;
  if (head === undefined || typeof source !== 'object' || source === null) return;
  const value = (source as Document)[head];
  if (value === undefined) return;
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  if (Array.isArray(value)) {
    const existing = Array.isArray(target[head]) ? (target[head] as Document[]) : [];
    const projected = value
      .filter((item) => typeof item === 'object' && item !== null && !Array.isArray(item))
      .map((item, index) => {
        const into = existing[index] ?? {};
        copyPath(item, into, rest);
        return into;
      });
    target[head] = projected;
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const into = (typeof target[head] === 'object' && target[head] !== null ? target[head] : {}) as Document;
  copyPath(value, into, rest);
  target[head] = into;
}

function omit(doc: Document, paths: readonly (readonly string[])[]): Document {
  const out: Document = { ...doc };
  for (const path of paths) removePath(out, path);
  return out;
}

function removePath(target: Document, path: readonly string[]): void {
  const [head, ...rest] = path;
  if (head === undefined || !(head in target)) return;
  if (rest.length === 0) {
    delete target[head];
    return;
  }
  const value = target[head];
  if (Array.isArray(value)) {
    target[head] = value.map((item: unknown) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
      const copy = { ...(item as Document) };
      removePath(copy, rest);
      return copy;
    });
  } else if (typeof value === 'object' && value !== null) {
    const copy = { ...(value as Document) };
    removePath(copy, rest);
    target[head] = copy;
  }
}
