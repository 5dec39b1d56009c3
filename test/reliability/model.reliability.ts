/**
 * Model-based concurrency test (fast-check commands): random interleavings of every kind of
 * writer mongo-molt has, run concurrently against the server, checked against a model of what
 * was acknowledged.
 *
 * Each interleaving is a fresh collection seeded with a few documents of any version, then a
 * random list of commands: inserts (through the wrapper at the latest or a pinned version, and
 * raw inserts of stale documents by old code), `$inc` through pinned and latest wrappers, raw
 * in-place `$inc` by old code (only where the run compares on the whole document), reads with
 * write-back (with and without archiving), forward and reverse sweeps on the client and on the
 * server, archived sweeps, and `restore`. Commands are not run one after another: each starts its
 * operation and goes on, and a `settle` command (or a full queue) waits for everything in flight,
 * so that every group between two settles runs at once. The model counts, per document, the
 * increments that were acknowledged.
 *
 * After every interleaving: nothing deleted; no acknowledged increment lost (the stored `n`, read
 * through `schema.migrate`, equals the model's); every stored document valid at its stored
 * version; every field no step touches (`_id`, `keep`, `opt`, stray fields) byte-identical in
 * BSON type and value; no sweep failed or aborted, no write-back error, no operation error other
 * than a counted contention.
 *
 * Size: `MOLT_RELIABILITY_INTERLEAVINGS` (default 1,000; CI 200). `MOLT_RELIABILITY_SEED` repeats
 * a run (the seed is printed).
 */
import fc from 'fast-check';
import { pino, type Logger } from 'pino';
import { BSON, Decimal128, Double, Int32, Long, ObjectId, type Collection, type Document } from 'mongodb';
import { describe, expect, inject } from 'vitest';
import { z } from 'zod';
import { defineSchema, InvalidOptionError, restore, step, sweep, UpdateContentionError, versioned, type SweepOptions, type SweepReport } from 'mongo-molt';
import { itWithAtomicUpdates, useTestDatabase } from '../support/database.js';
import { INTERLEAVINGS, SEED } from './size.js';

const t = useTestDatabase('rel_model');
const { updatePipelines, kind } = inject('serverFeatures');

// ---------------------------------------------------------------------------------------------
// The schema: four versions; 1 -> 2 and 2 -> 3 declarative (a rename, a converted field, an added
// field: all with a server form), 3 -> 4 a function step; downcasters everywhere, so that every
// reverse sweep works. `n` is the counter every step keeps; `keep`, `opt` and stray fields are
// touched by no step.
// ---------------------------------------------------------------------------------------------

const untouched = { keep: z.unknown().optional(), opt: z.string().optional() };
const V1 = z.object({ _id: z.unknown(), n: z.number(), name: z.string(), price: z.string(), ...untouched });
const V2 = z.object({ _id: z.unknown(), n: z.number(), title: z.string(), priceCents: z.number(), ...untouched });
const V3 = V2.extend({ note: z.string().nullable() });
const V4 = V3.extend({ slug: z.string() });
const v1to2 = [
  step.rename('name', 'title'),
  step.convert('price', 'priceCents', {
    up: (s: string) => Math.round(Number(s) * 100),
    down: (cents: number) => (cents / 100).toFixed(2),
    upExpr: { $toInt: { $round: [{ $multiply: [{ $toDouble: '$price' }, 100] }, 0] } },
    downExpr: { $toString: { $divide: ['$priceCents', 100] } },
  }),
];
const v2to3 = [step.add('note', null)];

/** The app's schema (the latest is 4). */
const Full = defineSchema('model')
  .version(1, V1)
  .version(2, V2, v1to2)
  .version(3, V3, v2to3)
  .version(4, V4, {
    up: (v3) => ({ ...v3, slug: v3.title.toLowerCase() }),
    down: ({ slug: _slug, ...v3 }) => v3,
  });
/**
 * The previous release's schema (versions 1 to 3, all declarative): what a cron job still on that
 * release sweeps with. Its sweeps can run on the server in both directions; they never touch a
 * document at version 4 (newer than it knows).
 */
const Previous = defineSchema('model').version(1, V1).version(2, V2, v1to2).version(3, V3, v2to3);

const FIELDS_NO_STEP_TOUCHES = ['_id', 'keep', 'opt'];
const STRAYS = ['s_a', 's_b'];

// ---------------------------------------------------------------------------------------------
// Stored forms: values of every numeric BSON type (in `keep`, nested and in arrays, and in stray
// fields), `_id`s of several types, missing optional fields, documents of every version.
// ---------------------------------------------------------------------------------------------

const numeric: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map((v) => new Int32(v)),
  fc.integer({ min: -1000, max: 1000 }).map((v) => new Double(v)),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((v) => new Double(v)),
  fc.constant(new Double(-0)),
  fc.integer({ min: -1000, max: 1000 }).map((v) => Long.fromNumber(v)),
  fc.constant(Long.fromNumber(3e9)),
  fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }).map((v) => Long.fromBigInt(v)),
  fc.constantFrom('5.0', '0.1', '-0', '1E+3', '12345678901234567890.5').map((v) => Decimal128.fromString(v)),
);
const keepValue: fc.Arbitrary<unknown> = fc.oneof(
  numeric,
  fc.array(numeric, { maxLength: 4 }),
  fc.record({ a: numeric, inner: fc.record({ b: numeric, list: fc.array(numeric, { maxLength: 3 }) }) }, { requiredKeys: ['a'] }),
);

type IdKind = 'string' | 'objectId' | 'int' | 'long';
function makeId(idKind: IdKind, serial: number): unknown {
  switch (idKind) {
    case 'string': return `k${serial}`;
    case 'objectId': return new ObjectId(serial.toString(16).padStart(24, '0'));
    case 'int': return new Int32(100_000 + serial);
    case 'long': return Long.fromNumber(10_000_000_000 + serial);
  }
}

/** A document's content, before it is given a shape and an `_id`. */
interface Spec {
  readonly idKind: IdKind;
  readonly n: number;
  readonly nType: 'int' | 'double' | 'long';
  readonly title: string;
  readonly cents: number;
  readonly keep?: unknown;
  readonly opt?: string;
  readonly strays: Readonly<Record<string, unknown>>;
  /** The stored version, for raw inserts (`null`: version 1 without a version field). */
  readonly version: 1 | 2 | 3 | 4 | null;
}
const specArb: fc.Arbitrary<Spec> = fc.record({
  idKind: fc.constantFrom<IdKind>('string', 'objectId', 'int', 'long'),
  n: fc.integer({ min: 0, max: 5 }),
  nType: fc.constantFrom('int' as const, 'double' as const, 'long' as const),
  title: fc.constantFrom('Ada', 'Grace Hopper', 'x'),
  cents: fc.integer({ min: 0, max: 99_999 }),
  keep: keepValue,
  opt: fc.constantFrom('o', ''),
  strays: fc.record({ s_a: numeric, s_b: keepValue }, { requiredKeys: [] }),
  version: fc.constantFrom(null, 1 as const, 2 as const, 3 as const, 4 as const),
}, { requiredKeys: ['idKind', 'n', 'nType', 'title', 'cents', 'strays', 'version'] });

function counterValue(spec: Spec): unknown {
  return spec.nType === 'int' ? new Int32(spec.n) : spec.nType === 'double' ? new Double(spec.n) : Long.fromNumber(spec.n);
}

/** The document at a version: the fields each version has, plus the untouched ones. */
function shaped(spec: Spec, id: unknown, version: 1 | 2 | 3 | 4, options: { strays: boolean; versionField: boolean }): Document {
  const doc: Document = { _id: id, n: counterValue(spec) };
  if (version === 1) Object.assign(doc, { name: spec.title, price: (spec.cents / 100).toFixed(2) });
  else Object.assign(doc, { title: spec.title, priceCents: spec.cents });
  if (version >= 3) doc.note = null;
  if (version === 4) doc.slug = spec.title.toLowerCase();
  if (spec.keep !== undefined) doc.keep = spec.keep;
  if (spec.opt !== undefined) doc.opt = spec.opt;
  if (options.strays) Object.assign(doc, spec.strays);
  if (options.versionField) doc.schemaVersion = version;
  return doc;
}

/** The BSON of each field no step touches (`absent` where the document has none). */
function untouchedBytes(doc: Document): Record<string, string> {
  return Object.fromEntries([...FIELDS_NO_STEP_TOUCHES, ...STRAYS].map((field) => [
    field,
    field in doc ? Buffer.from(BSON.serialize({ v: doc[field] })).toString('hex') : 'absent',
  ]));
}
const describeBytes = (hex: string) => (hex === 'absent' ? hex : BSON.EJSON.stringify(BSON.deserialize(Buffer.from(hex, 'hex'), { promoteValues: false }).v, { relaxed: false }));

// ---------------------------------------------------------------------------------------------
// The model and the real system.
// ---------------------------------------------------------------------------------------------

type CompareOn = 'document';

interface Model {
  readonly compareOn: CompareOn;
}

interface Expected {
  readonly id: unknown;
  n: number;
  readonly bytes: Record<string, string>;
}

interface Real {
  readonly raw: Collection<Document>;
  readonly compareOn: CompareOn;
  /** Acknowledged documents, in insertion order. */
  readonly docs: Expected[];
  readonly inFlight: Promise<void>[];
  readonly errors: string[];
  readonly reports: SweepReport[];
  readonly wrappers: { readonly stats: { writeBackErrors: number; lostRaces: number }; flush(): Promise<void> }[];
  serial: number;
  readonly tally: Record<string, number>;
  /** What the wrappers log at `error` (a failed write-back says why there). */
  readonly logger: Logger;
}

/** A logger that keeps the messages of errors the library logs, to name them in a failure. */
function errorLog(errors: string[]): Logger {
  return pino({ level: 'error' }, {
    write: (line: string) => {
      const { msg, err, codes } = JSON.parse(line) as { msg: string; err?: { type?: string; message?: string }; codes?: unknown };
      errors.push(`logged: ${msg}${err ? ` (${String(err.type)}: ${String(err.message)})` : ''}${codes ? ` codes ${JSON.stringify(codes)}` : ''}`);
    },
  });
}

const MAX_IN_FLIGHT = 8;

/** Starts an operation without waiting for it; a full queue is settled first. */
async function launch(real: Real, label: string, operation: () => Promise<void>): Promise<void> {
  if (real.inFlight.length >= MAX_IN_FLIGHT) await settle(real);
  real.tally[label] = (real.tally[label] ?? 0) + 1;
  real.inFlight.push(operation().catch((error: unknown) => {
    real.errors.push(`${label}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }));
}

async function settle(real: Real): Promise<void> {
  while (real.inFlight.length > 0) await Promise.all(real.inFlight.splice(0));
}

const pick = (real: Real, index: number): Expected | undefined => real.docs[index % Math.max(1, real.docs.length)];

type Command = fc.AsyncCommand<Model, Real>;

class Insert implements Command {
  constructor(readonly spec: Spec, readonly via: 'raw' | 'latest' | 1 | 2 | 3) {}
  check = () => true;
  async run(_m: Model, real: Real): Promise<void> {
    const id = makeId(this.spec.idKind, real.serial++);
    await launch(real, `insert ${this.via}`, async () => {
      let doc: Document;
      if (this.via === 'raw') {
        // Old code's insert of a stale (or any) document.
        doc = shaped(this.spec, id, this.spec.version ?? 1, { strays: true, versionField: this.spec.version !== null });
        await real.raw.insertOne(doc);
      } else {
        // Through the wrapper: the latest shape as app code has it (`n` a plain number), stored at the latest or a
        // pinned version. No strays (the schema does not declare them).
        doc = { ...shaped(this.spec, id, 4, { strays: false, versionField: false }), n: this.spec.n };
        const app = versioned(real.raw, Full, { compareOn: real.compareOn, logger: real.logger, ...(this.via === 'latest' ? {} : { writeVersion: this.via }) });
        await app.insertOne(doc as never);
      }
      real.docs.push({ id, n: this.spec.n, bytes: untouchedBytes(doc) });
    });
  }
  toString = () => `insert(${this.via}, ${this.spec.idKind}, v${String(this.spec.version)})`;
}

class Increment implements Command {
  constructor(readonly index: number, readonly amount: number, readonly via: 'raw' | 'latest' | 1 | 2 | 3) {}
  check = (m: Readonly<Model>) => this.via !== 'raw' || m.compareOn === 'document';
  async run(_m: Model, real: Real): Promise<void> {
    const target = pick(real, this.index);
    if (target === undefined) return;
    await launch(real, `$inc ${this.via}`, async () => {
      if (this.via === 'raw') {
        // Old code, in place, never bumping the version.
        const result = await real.raw.updateOne({ _id: target.id } as Document, { $inc: { n: this.amount } });
        if (result.matchedCount !== 1) throw new Error(`raw $inc matched ${result.matchedCount}`);
        target.n += this.amount;
        return;
      }
      const app = versioned(real.raw, Full, { compareOn: real.compareOn, logger: real.logger, ...(this.via === 'latest' ? {} : { writeVersion: this.via }) });
      try {
        const result = await app.updateOne({ _id: target.id } as never, { $inc: { n: this.amount } });
        if (result.matchedCount !== 1) throw new Error(`$inc through the wrapper matched ${result.matchedCount}`);
        target.n += this.amount;
      } catch (error) {
        // Not applied: the document kept being migrated under the update. Counted, not acknowledged.
        if (!(error instanceof UpdateContentionError)) throw error;
        real.tally.contention = (real.tally.contention ?? 0) + 1;
      }
    });
  }
  toString = () => `$inc(${this.via}, #${this.index}, ${this.amount})`;
}

class Read implements Command {
  constructor(readonly index: number | 'all', readonly archive: boolean, readonly writeVersion: 'latest' | 2 | 3) {}
  check = () => true;
  async run(_m: Model, real: Real): Promise<void> {
    const target = this.index === 'all' ? undefined : pick(real, this.index);
    if (this.index !== 'all' && target === undefined) return;
    await launch(real, `read${this.archive ? ' archived' : ''}`, async () => {
      const reader = versioned(real.raw, Full, {
        compareOn: real.compareOn, writeBackOnRead: true, archiveOnWriteBack: this.archive, logger: real.logger,
        ...(this.writeVersion === 'latest' ? {} : { writeVersion: this.writeVersion }),
      });
      real.wrappers.push(reader);
      if (target === undefined) await reader.find({}).toArray();
      else if ((await reader.findOne({ _id: target.id } as never)) === null) throw new Error('a read found nothing');
      await reader.flush();
    });
  }
  toString = () => `read(${String(this.index)}, ${this.archive ? 'archive, ' : ''}${this.writeVersion})`;
}

class Sweep implements Command {
  constructor(readonly schema: 'full' | 'previous', readonly to: number, readonly mode: 'client' | 'server', readonly archive: boolean, readonly batchSize: number) {}
  check = () => this.mode === 'client' || updatePipelines;
  async run(_m: Model, real: Real): Promise<void> {
    await launch(real, `sweep ${this.mode}${this.archive ? ' archive' : ''}`, async () => {
      const options: SweepOptions = {
        to: this.to, mode: this.mode, archive: this.archive, compareOn: real.compareOn,
        batchSize: this.batchSize, ratePerSecond: Infinity, pauseMs: 0,
      };
      const schema = this.schema === 'full' ? Full : Previous;
      if (this.mode === 'server' && this.to < schema.latest) {
        // Going down, 'server' is refused without allowLoss (each document is checked for loss on
        // the client), before any I/O: the refusal is the answer, and the model sees nothing change.
        const refused = await sweep(real.raw, schema, options).then(() => undefined, (error: unknown) => error);
        if (!(refused instanceof InvalidOptionError)) throw new Error(`sweep ${this.toString()}: expected the refusal of a reverse server sweep without allowLoss, got ${String(refused)}`);
        return;
      }
      const report = await sweep(real.raw, schema, options);
      real.reports.push(report);
      if (report.status === 'aborted' || report.status === 'failed' || report.failed > 0) {
        throw new Error(`sweep ${this.toString()}: ${report.status}, ${report.failed} failed${report.error ? `, ${report.error.name}: ${report.error.message}` : ''}`);
      }
    });
  }
  toString = () => `sweep(${this.schema}, to ${this.to}, ${this.mode}${this.archive ? ', archive' : ''}, batch ${this.batchSize})`;
}

class Restore implements Command {
  check = () => true;
  async run(_m: Model, real: Real): Promise<void> {
    await launch(real, 'restore', async () => {
      const report = await restore(real.raw);
      real.tally.restored = (real.tally.restored ?? 0) + report.restored;
      real.tally.restoreSkipped = (real.tally.restoreSkipped ?? 0) + report.skipped;
    });
  }
  toString = () => 'restore()';
}

class Settle implements Command {
  check = () => true;
  async run(_m: Model, real: Real): Promise<void> {
    await settle(real);
  }
  toString = () => 'settle';
}

const index = fc.nat({ max: 1000 });
const writer = fc.constantFrom('latest' as const, 1 as const, 2 as const, 3 as const);
const commands = fc.commands<Model, Real, false>([
  fc.tuple(specArb, fc.constantFrom('raw' as const, 'raw' as const, 'latest' as const, 1 as const, 2 as const, 3 as const)).map(([spec, via]) => new Insert(spec, via)),
  fc.tuple(index, fc.integer({ min: 1, max: 3 }), writer).map(([i, amount, via]) => new Increment(i, amount, via)),
  fc.tuple(index, fc.integer({ min: 1, max: 3 }), writer).map(([i, amount, via]) => new Increment(i, amount, via)),
  fc.tuple(index, fc.integer({ min: 1, max: 3 })).map(([i, amount]) => new Increment(i, amount, 'raw')),
  fc.tuple(fc.oneof(index, fc.constant('all' as const)), fc.boolean(), fc.constantFrom('latest' as const, 2 as const, 3 as const)).map(([i, archive, wv]) => new Read(i, archive, wv)),
  fc.tuple(fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.integer({ min: 1, max: 4 })).map(([to, archive, batch]) => new Sweep('full', to, 'client', archive, batch)),
  fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 })).map(([to, batch]) => new Sweep('previous', to, 'server', false, batch)),
  fc.constant(new Restore()),
  fc.constant(new Settle()),
], { maxCommands: 40, size: 'medium' });

// ---------------------------------------------------------------------------------------------
// The check after each interleaving.
// ---------------------------------------------------------------------------------------------

async function violations(real: Real): Promise<string[]> {
  const problems: string[] = [...real.errors];
  const promoted = await real.raw.find({}).toArray();
  const exact = await real.raw.find({}, { promoteValues: false }).toArray();
  if (promoted.length !== real.docs.length) problems.push(`${real.docs.length} documents acknowledged, ${promoted.length} stored`);
  const key = (id: unknown) => BSON.EJSON.stringify({ id }, { relaxed: false });
  const storedById = new Map(promoted.map((doc, i) => [key(exact[i]?._id), { doc, exact: exact[i] as Document }]));
  for (const expected of real.docs) {
    const label = key(expected.id);
    const stored = storedById.get(label);
    if (stored === undefined) {
      problems.push(`${label}: deleted (or its _id stored as another BSON type)`);
      continue;
    }
    const version = typeof stored.doc.schemaVersion === 'number' ? stored.doc.schemaVersion : 1;
    try {
      await Full.migrate(stored.doc, { to: version, validate: 'always' });
      const { value } = await Full.migrate(stored.doc);
      if (value.n !== expected.n) problems.push(`${label}: n is ${value.n}, ${expected.n} acknowledged (${expected.n - value.n} lost)`);
    } catch (error) {
      problems.push(`${label}: not valid at its stored version ${version}: ${(error as Error).message}`);
    }
    const bytes = untouchedBytes(stored.exact);
    for (const [field, want] of Object.entries(expected.bytes)) {
      if (bytes[field] !== want) problems.push(`${label}.${field}: ${describeBytes(bytes[field] as string)} instead of ${describeBytes(want)}`);
    }
  }
  for (const wrapper of real.wrappers) if (wrapper.stats.writeBackErrors > 0) problems.push(`${wrapper.stats.writeBackErrors} write-back errors`);
  return problems;
}

// ---------------------------------------------------------------------------------------------

describe('model-based concurrency', () => {
  if (!updatePipelines) process.stderr.write(`[reliability model] server-mode sweeps left out: ${kind} has no update pipelines (every sweep runs on the client)\n`);

  for (const compareOn of ['document'] as const) {
    itWithAtomicUpdates(`compareOn '${compareOn}': ${INTERLEAVINGS} random interleavings of inserts, pinned and latest $inc${compareOn === 'document' ? ', raw in-place $inc' : ''}, write-back reads, forward and reverse sweeps (client${updatePipelines ? ' and server' : ''}), archive and restore: nothing lost, deleted or changed that no step changes`, async () => {
      const seed = SEED;
      process.stderr.write(`[reliability model] compareOn ${compareOn}: seed ${seed} (MOLT_RELIABILITY_SEED=${SEED} repeats both), ${INTERLEAVINGS} interleavings\n`);
      let run = 0;
      const totals: Record<string, number> = {};
      const started = Date.now();
      let failure: { problems: string[]; commands: string } | undefined;
      await fc.assert(
        fc.asyncProperty(fc.array(specArb, { minLength: 2, maxLength: 8 }), commands, async (seeds, cmds) => {
          const raw = t.db.collection<Document>(`m_${compareOn}_${++run}`);
          const errors: string[] = [];
          const real: Real = { raw, compareOn, docs: [], inFlight: [], errors, reports: [], wrappers: [], serial: 0, tally: {}, logger: errorLog(errors) };
          for (const spec of seeds) {
            const id = makeId(spec.idKind, real.serial++);
            const doc = shaped(spec, id, spec.version ?? 1, { strays: true, versionField: spec.version !== null });
            await raw.insertOne(doc);
            real.docs.push({ id, n: spec.n, bytes: untouchedBytes(doc) });
          }
          await fc.asyncModelRun(() => ({ model: { compareOn }, real }), cmds);
          await settle(real);
          await Promise.all(real.wrappers.map((wrapper) => wrapper.flush()));
          for (const [label, count] of Object.entries(real.tally)) totals[label] = (totals[label] ?? 0) + count;
          totals.lostRaces = (totals.lostRaces ?? 0) + real.wrappers.reduce((sum, w) => sum + w.stats.lostRaces, 0);
          for (const report of real.reports) totals[`sweep ${report.status}`] = (totals[`sweep ${report.status}`] ?? 0) + 1;
          const problems = await violations(real);
          await raw.drop().catch(() => undefined);
          if (problems.length > 0) failure ??= { problems, commands: String(cmds) };
          return problems.length === 0;
        }),
        // A real server makes every run slow and every race different: report the first failing interleaving, do not shrink.
        { numRuns: INTERLEAVINGS, seed, endOnFailure: true },
      ).catch((error: unknown) => {
        if (failure === undefined) throw error;
        throw new Error(`interleaving failed (seed ${seed}):\n  ${failure.problems.slice(0, 20).join('\n  ')}${failure.problems.length > 20 ? `\n  … ${failure.problems.length - 20} more` : ''}\ncommands: ${failure.commands}`);
      });
      process.stderr.write(`[reliability model] compareOn ${compareOn}: ${run} interleavings in ${((Date.now() - started) / 1000).toFixed(1)} s, 0 lost: ${JSON.stringify(totals)}\n`);
      expect(run).toBe(INTERLEAVINGS);
    }, 1_800_000);
  }
});
