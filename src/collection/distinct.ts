import { BSON, type Collection, type DistinctOptions, type Document, type Filter } from 'mongodb';
import { andFilters, isPromiseLike, migrationTarget } from '../migrate/index.js';
import type { SchemaDefinition } from '../schema/types.js';
import type { DocumentReader } from './reader.js';

/**
 * `distinct` over the latest shape: documents at the latest version are asked of the server;
 * stale ones matching the filter are upcast and their values merged in.
 */
export async function distinctLatest(
  collection: Collection<Document>,
  definition: SchemaDefinition,
  reader: DocumentReader,
  key: string,
  filter: Filter<Document>,
  options: DistinctOptions,
): Promise<unknown[]> {
  // The one definition of "at the latest version" (an array holding the version is not).
  const latest = migrationTarget(definition, definition.latest, 'any');
  const current = await collection.distinct(key, andFilters(filter, latest.atTarget) as Filter<Document>, options);
  const seen = new Map<string, unknown>();
  for (const value of current) seen.set(distinctKey(value), value);
  const staleOptions = options.session ? { session: options.session } : {};
  const path = key.split('.');
  for await (const raw of collection.find(andFilters(filter, latest.notAtTarget) as Filter<Document>, staleOptions)) {
    const read = reader.read(raw);
    const doc = isPromiseLike<Document>(read) ? await read : read;
    for (const value of valuesAt(doc, path)) {
      const mapKey = distinctKey(value);
      if (!seen.has(mapKey)) seen.set(mapKey, value);
    }
  }
  return [...seen.values()];
}

/**
 * One key per value the server's `distinct` tells apart: numbers compare by value whatever their
 * BSON type (`1`, `1.0`, `Long(1)`, `Decimal128('1.00')` are one; `0` and `-0` are one), inside
 * embedded documents and arrays too; anything else by its BSON bytes.
 */
function distinctKey(value: unknown): string {
  const numeric = numericKey(value);
  if (numeric !== undefined) return `n:${numeric}`;
  if (Array.isArray(value)) return `a:[${value.map(distinctKey).join(',')}]`;
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return `o:{${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}:${distinctKey(item)}`).join(',')}}`;
  }
  return `b:${Buffer.from(BSON.serialize({ v: value })).toString('base64')}`;
}

/** A number's exact value as a normalized decimal (`-1.5`, `0`, `NaN`, `Infinity`), or `undefined` for a non-number. */
function numericKey(value: unknown): string | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    return exactDecimal(value);
  }
  if (typeof value === 'bigint') return normalizeDecimal(value.toString());
  if (value instanceof BSON.Long || value instanceof BSON.Int32 || value instanceof BSON.Double) return numericKey(value instanceof BSON.Long ? value.toBigInt() : value.valueOf());
  if (value instanceof BSON.Decimal128) return normalizeDecimal(value.toString());
  return undefined;
}

/** The exact decimal expansion of a finite double (every double is a finite binary fraction). */
function exactDecimal(value: number): string {
  if (Number.isInteger(value)) return normalizeDecimal(BigInt(value).toString());
  let scale = 0;
  let scaled = value;
  while (!Number.isInteger(scaled)) {
    scaled *= 2; // exact: multiplying a double by 2 only changes its exponent
    scale += 1;
  }
  // value = scaled / 2^scale = scaled * 5^scale / 10^scale
  return normalizeDecimal(`${(BigInt(scaled) * 5n ** BigInt(scale)).toString()}E-${scale}`);
}

/** `digits[.digits][E±n]` as sign, significant digits without trailing zeros, and exponent. */
function normalizeDecimal(text: string): string {
  const match = /^([+-]?)(\d*)\.?(\d*)(?:E([+-]?\d+))?$/i.exec(text);
  if (match === null) return text.replace(/^-/, '').toLowerCase().includes('nan') ? 'NaN' : text.startsWith('-') ? '-Infinity' : 'Infinity';
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  let digits = (whole + fraction).replace(/^0+/, '');
  let power = Number(exponent) - fraction.length;
  if (digits === '') return '0';
  while (digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    power += 1;
  }
  return `${sign === '-' ? '-' : ''}${digits}e${power}`;
}

/** The values `distinct` collects at a dotted path: arrays are unwound, as the server does. */
function valuesAt(value: unknown, path: readonly string[]): unknown[] {
  if (Array.isArray(value)) return value.flatMap((item) => valuesAt(item, path));
  if (path.length === 0) return value === undefined ? [] : [value];
  if (typeof value !== 'object' || value === null) return [];
  const [head, ...rest] = path;
  return valuesAt((value as Document)[head as string], rest);
}
