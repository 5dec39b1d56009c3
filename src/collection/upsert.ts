/**
 * What an upsert would insert, checked before it is sent: MongoDB builds the new document from
 * the filter's equality conditions, then applies the update's operators to it (`$setOnInsert`
 * included). That document is an insert like any other: it must satisfy the write version's
 * schema and carry its defaults. The operators are applied by mingo (MongoDB's semantics in
 * JavaScript); nothing here talks to the server.
 */
import { isDeepStrictEqual } from 'node:util';
import { ObjectId, type Document } from 'mongodb';
import { update as applyUpdate } from 'mingo/updater';
import { cloneDeep, isEqual } from 'mingo/util';
import type { z } from 'zod';
import { InvalidOptionError, ValidationError, type MoltError } from '../errors.js';
import { validateVersion } from '../migrate/index.js';
import type { SchemaDefinition } from '../schema/types.js';
import { isPlainObject } from '../steps/paths.js';

/** An upsert as it is sent when it may insert. */
export interface UpsertPlan {
  /** The update with `$setOnInsert` for what the inserted document would otherwise lack (its defaults, an `_id`). */
  readonly update: Document;
  /**
   * Why the document this upsert would insert must not be stored; thrown only when the upsert
   * matches nothing (an upsert that matches a document updates it as it would without this check).
   */
  readonly refusal: MoltError | undefined;
}

const INSERT_ACTION =
  'Nothing was written: the upsert matched no document, and this is the one it would insert (the equality conditions of its filter with the update applied). ' +
  'Give the fields their values in the filter or the update (with $set or $setOnInsert), or insert the document with insertOne.';

const UNFILLABLE_ACTION =
  'Nothing was written: the upsert matched no document, and the update writes a field whole (or inside a part that is missing) without a value its schema gives a default to, ' +
  'which cannot be added without changing the update. Write that value in the update.';

/**
 * Works out the document an operator update with `upsert` would insert when `filter` (as the
 * server sees it, in the write version's terms) matches nothing, validates it against the write
 * version's schema and completes the update with `$setOnInsert` for the defaults it would lack.
 */
export async function planUpsert(definition: SchemaDefinition, writeVersion: number, filter: Document, update: Document, arrayFilters?: Document[], sentFilter: Document = filter): Promise<UpsertPlan> {
  let doc: Document;
  let fromSent: Document;
  try {
    doc = insertedDocument(filter, update, definition.versionField, arrayFilters);
    // The filter sent may say less than `filter` (translation adds branches for odd stored forms,
    // whose equalities the server does not copy): what it lacks is set on insert.
    fromSent = sentFilter === filter ? doc : insertedDocument(sentFilter, update, definition.versionField, arrayFilters);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      update,
      refusal: new InvalidOptionError('update', `with upsert, matched no document, and the document it would insert cannot be worked out (${reason}); nothing was written. Insert it with insertOne, or fix the update.`),
    };
  }
  // The server gives a document without `_id` an ObjectId: this one, so that what is checked is what is stored.
  const generatedId = doc._id === undefined ? new ObjectId() : undefined;
  if (generatedId !== undefined) doc = { _id: generatedId, ...doc };
  let completed: Document;
  try {
    completed = await validateVersion(definition, writeVersion, doc, doc._id, INSERT_ACTION);
  } catch (error) {
    if (error instanceof ValidationError) return { update, refusal: error };
    throw error;
  }
  const written = operatorPaths(update);
  const additions: Document = generatedId === undefined ? {} : { _id: generatedId };
  for (const [key, value] of Object.entries(doc)) {
    if (key !== '_id' && !isDeepStrictEqual(fromSent[key], value) && !written.some((path) => overlaps(path, [key]))) additions[key] = value;
  }
  const unfillable: z.core.$ZodIssue[] = [];
  for (const missing of missingPaths(doc, completed, [])) {
    const conflict = written.find((path) => overlaps(path, missing.path));
    if (conflict === undefined) additions[missing.path.join('.')] = missing.value;
    else {
      unfillable.push({
        code: 'custom',
        path: missing.path,
        message: `has a default, but the update writes "${conflict.join('.')}" without it`,
        input: undefined,
      } as z.core.$ZodIssue);
    }
  }
  if (unfillable.length > 0) {
    return { update, refusal: new ValidationError({ schemaName: definition.name, _id: doc._id, version: writeVersion, issues: unfillable, action: UNFILLABLE_ACTION }) };
  }
  if (Object.keys(additions).length === 0) return { update, refusal: undefined };
  return { update: { ...update, $setOnInsert: { ...(update.$setOnInsert as Document | undefined), ...additions } }, refusal: undefined };
}

/** The document an upsert inserts: the filter's equality conditions, then the update's operators (`$setOnInsert` as `$set`). */
function insertedDocument(filter: Document, update: Document, versionField: string, arrayFilters: Document[] | undefined): Document {
  const doc: Document = {};
  const seed: Document = {};
  const idPaths: Document = {};
  for (const [path, value] of equalities(filter, new Map())) {
    if (path === versionField) continue;
    if (path === '_id') doc._id = cloneDeep(value);
    else if (path.startsWith('_id.')) idPaths[path.slice(4)] = value;
    else seed[path] = value;
  }
  // mingo refuses any path under `_id` (it is immutable once stored): its parts are built apart.
  if (Object.keys(idPaths).length > 0) {
    if (doc._id !== undefined) throw new Error('the filter gives both "_id" and paths inside it');
    const id: Document = {};
    applyUpdate(id, { $set: idPaths }, undefined, undefined, { cloneMode: 'deep' });
    doc._id = id;
  }
  if (Object.keys(seed).length > 0) applyUpdate(doc, { $set: seed }, undefined, undefined, { cloneMode: 'deep' });
  const { $setOnInsert, ...operators } = update;
  const set: Document = { ...(operators.$set as Document | undefined), ...($setOnInsert as Document | undefined) };
  if ('_id' in set) {
    if (doc._id !== undefined && !isEqual(doc._id, set._id)) throw new Error('the update sets "_id" to another value than its filter');
    doc._id = cloneDeep(set._id);
    delete set._id;
  }
  if (Object.keys(set).length > 0) operators.$set = set;
  else delete operators.$set;
  if (Object.keys(operators).length > 0) applyUpdate(doc, operators, arrayFilters, undefined, { cloneMode: 'deep' });
  return doc;
}

/**
 * The equality conditions MongoDB copies into an upserted document: `field: value` (not an
 * operator object, not a regular expression), `field: { $eq: value }`, and those of every
 * clause of `$and`. Other operators (`$in`, `$or`, ranges…) give no value.
 */
function equalities(filter: Document, into: Map<string, unknown>): Map<string, unknown> {
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$and') {
      if (Array.isArray(condition)) for (const clause of condition) if (isPlainObject(clause)) equalities(clause, into);
      continue;
    }
    if (key.startsWith('$')) continue;
    if (isPlainObject(condition) && Object.keys(condition)[0]?.startsWith('$')) {
      if ('$eq' in condition) into.set(key, condition.$eq);
      continue;
    }
    if (condition instanceof RegExp || (condition as { _bsontype?: unknown } | null)?._bsontype === 'BSONRegExp') continue;
    into.set(key, condition);
  }
  return into;
}

/** Every path the update's operators write or read (`$rename` targets too), as segments. */
function operatorPaths(update: Document): string[][] {
  const paths: string[][] = [];
  for (const [operator, argument] of Object.entries(update)) {
    if (!operator.startsWith('$') || !isPlainObject(argument)) continue;
    for (const [path, value] of Object.entries(argument)) {
      paths.push(path.split('.'));
      if (operator === '$rename' && typeof value === 'string') paths.push(value.split('.'));
    }
  }
  return paths;
}

/** Whether one path is the other or a part of it, positional segments (`$`, `$[]`, `$[x]`) matching any. */
function overlaps(a: readonly string[], b: readonly string[]): boolean {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const left = a[index] as string;
    const right = b[index] as string;
    if (left !== right && !left.startsWith('$') && !right.startsWith('$')) return false;
  }
  return true;
}

/** The outermost paths where `completed` (with defaults) has a value that `doc` lacks. */
function missingPaths(doc: unknown, completed: unknown, at: string[]): { path: string[]; value: unknown }[] {
  if (doc === completed) return [];
  if (Array.isArray(doc) && Array.isArray(completed)) {
    return doc.flatMap((element: unknown, index) => missingPaths(element, completed[index], [...at, String(index)]));
  }
  if (!isPlainObject(doc) || !isPlainObject(completed)) return [];
  return Object.entries(completed).flatMap(([key, value]) =>
    doc[key] === undefined ? [{ path: [...at, key], value }] : missingPaths(doc[key], value, [...at, key]),
  );
}
