/**
 * A translated filter on a converted field compares, on the server, the value the step's server
 * form (`upExpr`) computes from each stored document; a read computes it with `up`. Where the two
 * disagree (`Math.round` rounds 12.5 up, `$round` to even) the filter answers differently from the
 * read path: `find({ priceCents: 13 })` misses a document that reads as 13, and `deleteMany` deletes
 * the wrong ones. So, before the first filter through a step's `upExpr` is sent, the two forms are
 * compared on the collection's own documents that the step still converts (up to
 * {@link SERVER_FORM_SAMPLE} of them, as the sweeper does on its first batch): a difference refuses
 * every filter through that step with a `QueryTranslationError` naming documents, before the
 * filter's own I/O; agreement is remembered for the wrapper's lifetime.
 */
import { isDeepStrictEqual } from 'node:util';
import { MongoServerError, type Collection, type Document } from 'mongodb';
import { QueryTranslationError } from '../errors.js';
import { isPromiseLike, migrate } from '../migrate/index.js';
import type { SchemaDefinition } from '../schema/types.js';
import { isTransientError } from '../server/index.js';
import { getPath, hasPath, isPlainObject } from '../steps/paths.js';
import { describeStep, type AnyConvertStep } from '../steps/step.js';
import { guardConversions } from '../translate/server-form.js';

/** How many stored documents a step's two forms are compared on. */
export const SERVER_FORM_SAMPLE = 1000;

/** The convert steps whose server form this wrapper has compared with `up` on its collection. */
export class ServerFormTrust {
  readonly #collection: Collection<Document>;
  readonly #definition: SchemaDefinition;
  readonly #checked = new Map<AnyConvertStep, Promise<void>>();

  constructor(collection: Collection<Document>, definition: SchemaDefinition) {
    this.#collection = collection;
    this.#definition = definition;
  }

  /** Resolves when every step's `upExpr` agrees with its `up` on the collection's documents; else a `QueryTranslationError`. */
  async check(steps: readonly AnyConvertStep[]): Promise<void> {
    await Promise.all(steps.map((s) => this.#checkOnce(s)));
  }

  #checkOnce(s: AnyConvertStep): Promise<void> {
    let checked = this.#checked.get(s);
    if (checked === undefined) {
      checked = this.#compare(s);
      this.#checked.set(s, checked);
      // A server error says nothing of the step: the next filter checks again.
      checked.catch((error: unknown) => {
        if (!(error instanceof QueryTranslationError)) this.#checked.delete(s);
      });
    }
    return checked;
  }

  async #compare(s: AnyConvertStep): Promise<void> {
    const definition = this.#definition;
    const input = inputVersion(definition, s);
    if (input === undefined || s.upExpr === undefined) return;
    const versions: (number | null)[] = [];
    for (let version = definition.first; version <= input; version++) versions.push(version);
    if (definition.unversioned <= input) versions.push(null);
    const { value, fails } = guardConversions(s.upExpr);
    const refuse = (reason: string) =>
      new QueryTranslationError({ schemaName: definition.name, field: s.to, versions: versions.filter((version): version is number => version !== null), reason });
    let rows: Document[];
    try {
      rows = await this.#collection.aggregate([
        { $match: { [definition.versionField]: { $in: versions } } },
        { $limit: SERVER_FORM_SAMPLE },
        { $project: { doc: '$$ROOT', converted: value, failed: fails ?? { $literal: false } } },
      ]).toArray();
    } catch (error) {
      // The filter would fail on the server the same way: refused, with the server's reason.
      if (isTransientError(error) || !(error instanceof MongoServerError)) throw error;
      throw refuse(`the filter compares through the server form of ${describeStep(s)}, and this server cannot evaluate that upExpr (${error.message}). Give the step an upExpr this server runs, or migrate the documents first (molt sweep, mode client)`);
    }
    const differing: { id: unknown; up: unknown; upExpr: unknown }[] = [];
    for (const row of rows) {
      const doc = row.doc as Document;
      let atInput: Document;
      try {
        atInput = (await migrate(definition, doc, { to: input, validate: 'never' })).value;
      } catch {
        continue; // an earlier step fails on it: reading it raises that error, whatever the filter
      }
      // Without the source the step does nothing, and the filter does not compare through upExpr.
      if (!hasPath(atInput, s.from)) continue;
      let expected: unknown;
      let upFails = false;
      try {
        const result: unknown = s.up(getPath(atInput, s.from));
        expected = isPromiseLike(result) ? await result : result;
      } catch {
        upFails = true;
      }
      // Where the server's conversion fails, the filter matches nothing: right when the read raises an error too.
      const agrees = row.failed === true ? upFails || (await readFails(definition, doc, input + 1)) : !upFails && sameForQuery(row.converted, expected);
      if (!agrees) differing.push({ id: doc._id, up: upFails ? 'an error' : expected, upExpr: row.failed === true ? 'an error' : row.converted });
    }
    if (differing.length === 0) return;
    const examples = differing.slice(0, 3).map((entry) => `_id ${JSON.stringify(entry.id)}: up gives ${JSON.stringify(entry.up)}, upExpr ${JSON.stringify(entry.upExpr)}`);
    throw refuse(
      `the filter compares through the server form of ${describeStep(s)}, and upExpr computes another value than up on ${differing.length} of the ${rows.length} stored documents checked (${examples.join('; ')}), so the server would answer differently from a read. ` +
        'Fix upExpr to compute exactly what up computes (molt check compares them), or migrate those documents first (molt sweep, mode client)',
    );
  }
}

/** Whether reading `doc` up to `version` raises an error (a step throws, or zod rejects what it made). */
async function readFails(definition: SchemaDefinition, doc: Document, version: number): Promise<boolean> {
  try {
    await migrate(definition, doc, { to: version });
    return false;
  } catch {
    return true;
  }
}

/** The version whose documents `s` converts (the step leads from it to the next one). */
function inputVersion(definition: SchemaDefinition, s: AnyConvertStep): number | undefined {
  const entry = definition.entries.find((candidate) => candidate.up?.kind === 'declarative' && candidate.up.steps.includes(s));
  return entry === undefined ? undefined : entry.version - 1;
}

/** Whether a query's equality sees two values as the same: numbers by value whatever their BSON type, missing as null. */
function sameForQuery(a: unknown, b: unknown): boolean {
  const x = numeric(a);
  const y = numeric(b);
  if (x !== undefined || y !== undefined) return x !== undefined && y !== undefined && (x === y || (Number.isNaN(x) && Number.isNaN(y)));
  if (a === undefined || a === null || b === undefined || b === null) return (a ?? null) === (b ?? null);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => sameForQuery(item, b[index]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return isDeepStrictEqual(keys, Object.keys(b)) && keys.every((key) => sameForQuery(a[key], b[key]));
  }
  return isDeepStrictEqual(a, b);
}

function numeric(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  const type = (value as { _bsontype?: unknown } | null)?._bsontype;
  if (type === 'Int32' || type === 'Double' || type === 'Long' || type === 'Decimal128') return Number((value as { toString(): string }).toString());
  return undefined;
}
