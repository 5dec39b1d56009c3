/**
 * The server form of a list of declarative steps: the stages of an update pipeline
 * (`updateMany(filter, [ …stages ])`) that do on the server what `applyUp`/`applyDown` do in memory,
 * field for field: an absent source leaves the document as it is, a present `null` is kept.
 */
import type { DeclarativeStep, Expression } from './step.js';

/** One stage of an update pipeline. */
export type PipelineStage = Readonly<Record<string, unknown>>;

/** The stages that migrate up through `steps`, or `undefined` when a step has no server form (a `convert` without `upExpr`). */
export function upPipeline(steps: readonly DeclarativeStep[]): PipelineStage[] | undefined {
  const stages: PipelineStage[] = [];
  for (const s of steps) {
    switch (s.kind) {
      case 'rename':
        stages.push(...moveStages(s.from, s.to, `$${s.from}`));
        break;
      case 'add':
        stages.push(setWhere(s.field, isMissing(s.field), { $literal: s.value }));
        break;
      case 'remove':
        stages.push(unsetStage(s.field));
        break;
      case 'convert':
        if (s.upExpr === undefined) return undefined;
        stages.push(...moveStages(s.from, s.to, asTheDriverWritesIt(s.upExpr)));
        break;
    }
  }
  return stages;
}

/** The stages that undo `steps`, or `undefined` when one cannot run on the server (a `remove`, a `convert` without `downExpr`). */
export function downPipeline(steps: readonly DeclarativeStep[]): PipelineStage[] | undefined {
  const stages: PipelineStage[] = [];
  for (let index = steps.length - 1; index >= 0; index -= 1) {
    const s = steps[index] as DeclarativeStep;
    switch (s.kind) {
      case 'rename':
        stages.push(...moveStages(s.to, s.from, `$${s.to}`));
        break;
      case 'add':
        stages.push(unsetStage(s.field));
        break;
      case 'remove':
        return undefined;
      case 'convert':
        if (s.downExpr === undefined || s.down === undefined) return undefined;
        stages.push(...moveStages(s.to, s.from, asTheDriverWritesIt(s.downExpr)));
        break;
    }
  }
  return stages;
}

/** Sets `to` from `value` where `from` is present (keeping `to` as it is otherwise), then drops `from`. */
function moveStages(from: string, to: string, value: string | Expression): PipelineStage[] {
  const set = setWhere(to, { $not: [isMissing(from)] }, value);
  return from === to ? [set] : [set, unsetStage(from)];
}

/**
 * The number an expression gives, stored as the client path stores what its function returns: a
 * function returns a JS number, which the driver writes as an int32 when it is an integer in
 * int32's range (but -0), else as a double. A server form computes in BSON types instead
 * (`$multiply` of a long is a long, of a double a double), and stored the same value under another
 * type. Other values, and longs beyond 2^53 (no JS number holds them), are kept as computed.
 */
function asTheDriverWritesIt(expression: Expression): Expression {
  const type = { $type: '$$v' };
  // DocumentDB evaluates every operand, even those a $cond or $and rules out: each operator gets a stand-in of its type.
  const n = { $cond: [{ $in: [type, ['int', 'long', 'double']] }, '$$v', 0] };
  const negativeZero = { $eq: [{ $toString: { $cond: [{ $eq: [type, 'double'] }, '$$v', 1] } }, '-0'] };
  const int32 = { $and: [{ $in: [type, ['int', 'long', 'double']] }, { $eq: [{ $floor: n }, n] }, { $gte: [n, -(2 ** 31)] }, { $lte: [n, 2 ** 31 - 1] }, { $not: [negativeZero] }] };
  const safeLong = { $and: [{ $eq: [type, 'long'] }, { $lte: [{ $abs: n }, Number.MAX_SAFE_INTEGER] }] };
  return {
    $let: {
      vars: { v: expression },
      in: { $cond: [int32, { $toInt: { $cond: [int32, n, 0] } }, { $cond: [safeLong, { $toDouble: n }, '$$v'] }] },
    },
  };
}

/**
 * Removes `path`, walking embedded documents only (an array or a scalar on the way leaves the
 * document as it is, as `unsetPath` does in memory). A dotted path is rebuilt from its top-level
 * field rather than `$unset`: `$unset: 'a.b'` reaches into the documents of an array `a`, and on
 * DocumentDB it leaves an empty `a: {}` behind on documents without `a` once a later stage sets
 * any field.
 */
function unsetStage(path: string): PipelineStage {
  const [top, ...rest] = path.split('.') as [string, ...string[]];
  if (rest.length === 0) return { $unset: top };
  return { $set: { [top]: without(top, rest) } };
}

/** The value of field `prefix` without `rest` inside it (as it is where it is not an embedded document). */
function without(prefix: string, rest: readonly string[]): unknown {
  const [key, ...deeper] = rest as [string, ...string[]];
  const isObject = { $eq: [{ $type: `$${prefix}` }, 'object'] };
  // DocumentDB evaluates both branches of a $cond: $objectToArray gets an empty document where `prefix` is not one.
  const object = { $cond: [isObject, `$${prefix}`, { $literal: {} }] };
  const inner = deeper.length === 0
    ? { $arrayToObject: { $filter: { input: { $objectToArray: object }, as: 'kv', cond: { $ne: ['$$kv.k', { $literal: key }] } } } }
    : { $mergeObjects: [object, { [key]: without(`${prefix}.${key}`, deeper) }] };
  return { $cond: [isObject, inner, `$${prefix}`] };
}

/**
 * Sets `path` to `value` where `condition` holds, leaving the document as it is elsewhere. A dotted
 * path is rebuilt from its top-level field with `$mergeObjects`: `$set: { 'a.b': … }` would leave
 * an empty `a: {}` behind on documents without `a` even when nothing is set (seen on DocumentDB).
 */
function setWhere(path: string, condition: Expression, value: unknown): PipelineStage {
  const [top, ...rest] = path.split('.') as [string, ...string[]];
  return { $set: { [top]: { $cond: [condition, nest(top, rest, value), `$${top}`] } } };
}

/** The value of field `prefix` with `value` set at `rest` inside it (an object is made where there is none). */
function nest(prefix: string, rest: readonly string[], value: unknown): unknown {
  const [key, ...deeper] = rest;
  if (key === undefined) return value;
  const current = { $cond: [{ $eq: [{ $type: `$${prefix}` }, 'object'] }, `$${prefix}`, {}] };
  return { $mergeObjects: [current, { [key]: nest(`${prefix}.${key}`, deeper, value) }] };
}

/**
 * `path` is absent as `hasPath` sees it in memory: missing, or behind something other than an
 * embedded document. `$a.b` alone would read through an array `a` (the array of each element's
 * `b`), so an array on the way counted as present and a step wrote `a: { b: [ … ] }` over it.
 */
function isMissing(path: string): Expression {
  const keys = path.split('.');
  if (keys.length === 1) return { $eq: [{ $type: `$${path}` }, 'missing'] };
  const parents = keys.slice(0, -1).map((_, index) => ({ $eq: [{ $type: `$${keys.slice(0, index + 1).join('.')}` }, 'object'] }));
  const present = [...parents, { $ne: [{ $type: `$${path}` }, 'missing'] }];
  return { $not: [{ $and: present }] };
}
