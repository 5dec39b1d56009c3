/**
 * The server form of validation: a zod schema compiled to an aggregation expression that is true
 * only for documents the schema accepts. A server-side sweep writes a migrated document only when
 * this expression holds, so it never stores what client mode would refuse. The compiler is sound,
 * not complete: what it cannot express exactly (refinements, exclusive unions, transforms, records
 * not keyed by plain strings, tuples, strict objects, regular expressions, custom types) makes the
 * whole schema inexpressible (`undefined`), and the sweeper runs those versions on the client.
 */
import { BSON } from 'mongodb';
import { z } from 'zod';
import { defOf, type ZodDef, type ZodType } from './def.js';

type Def = ZodDef;
type Expression = Readonly<Record<string, unknown>>;

// The BSON types the driver hands to zod as a JS number: a double or an int32 always, a long only
// when it fits in 53 bits (a larger one arrives as a Long object, which zod refuses); a decimal128
// arrives as an object: zod refuses it.
const NUMERIC_TYPES = ['double', 'int', 'long'];
const LARGEST_PROMOTED_LONG = Number.MAX_SAFE_INTEGER;

class Inexpressible extends Error {}

/** BSON types the driver hands to zod as a JS object other than a plain one (a long only when it does not fit in 53 bits). */
const OBJECT_LIKE_TYPES = ['date', 'objectId', 'decimal', 'binData', 'timestamp', 'regex', 'javascript', 'javascriptWithScope', 'minKey', 'maxKey', 'dbPointer'];
const A_DBREF = new BSON.DBRef('x', new BSON.ObjectId());
const OBJECT_LIKE_INSTANCES: readonly object[] = [
  new Date(0), /x/, new BSON.ObjectId(), BSON.Decimal128.fromString('0'), new BSON.Binary(), BSON.Long.ZERO,
  new BSON.Timestamp({ t: 0, i: 0 }), new BSON.MinKey(), new BSON.MaxKey(), new BSON.Code(''), A_DBREF,
];
/** What a stored document itself arrives as: a plain object, or a DBRef where it is shaped like one (see `dbRefShaped`). */
const DOCUMENT_INSTANCES: readonly object[] = [{}, A_DBREF];

/** An expression over the whole document (`$$ROOT`) that holds exactly when `schema` would accept it, or `undefined`. */
export function validityExpression(schema: ZodType): Expression | undefined {
  try {
    return compile(schema, '$$ROOT');
  } catch (error) {
    if (error instanceof Inexpressible) return undefined;
    throw error;
  }
}

function typeIs(value: string, types: readonly string[]): Expression {
  return { $in: [{ $type: value }, types] };
}

function all(parts: readonly Expression[]): Expression {
  return parts.length === 1 ? (parts[0] as Expression) : { $and: parts };
}

/**
 * `check`, then the `rest` only where it holds. The operands of `$strLenCP`, `$size`, `$map` and
 * `$floor` are made safe too (see `safe`): DocumentDB evaluates a `$cond`'s branches (and `$and`'s
 * operands) even where the condition rules them out, and those operators fail on a wrong type.
 */
function guarded(check: Expression, rest: readonly Expression[]): Expression {
  return rest.length === 0 ? check : { $cond: [check, all(rest), false] };
}

/** `value` is a field reference (`$a.b`), `$$ROOT`, or `$$e` inside an array map. */
/** `value` where `check` holds, else a harmless stand-in of the right type. */
function safe(check: Expression, value: string, standIn: unknown): Expression {
  return { $cond: [check, value, { $literal: standIn }] };
}

/** The kinds of check each def type may carry and the compiler expresses; any other check (a refinement, a format, an overwrite such as `.trim()`) makes the schema inexpressible. */
const EXPRESSIBLE_CHECKS: Readonly<Record<string, readonly string[]>> = {
  string: ['min_length', 'max_length', 'length_equals'],
  number: ['number_format', 'greater_than', 'less_than'],
  array: ['min_length', 'max_length', 'length_equals'],
};

/**
 * Default-deny: every def type the compiler knows is listed here, with what it may carry; a def
 * with anything else (a check of another kind, a format on the type itself as in `z.email()`,
 * coercion) or of any other type is inexpressible, and its versions run on the client.
 */
function checkKnown(def: Def): void {
  const allowed = EXPRESSIBLE_CHECKS[def.type] ?? [];
  for (const { _zod: { def: check } } of def.checks ?? []) if (!allowed.includes(check.check)) throw new Inexpressible();
  if ((def as { coerce?: boolean }).coerce === true) throw new Inexpressible();
  // z.int() / z.int32() carry their format on the schema itself; z.email(), z.uuid()… too.
  if (def.check !== undefined && !(def.type === 'number' && def.check === 'number_format')) throw new Inexpressible();
}

function compile(schema: ZodType, value: string): Expression {
  const def = defOf(schema);
  checkKnown(def);
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'prefault':
      return compile(def.innerType as ZodType, value);
    case 'nullable': {
      const inner = compile(def.innerType as ZodType, value);
      return { $or: [{ $eq: [{ $type: value }, 'null'] }, inner] };
    }
    case 'readonly':
      return compile(def.innerType as ZodType, value);
    case 'any':
    case 'unknown':
      return { $literal: true };
    case 'string':
      return (guarded(typeIs(value, ['string']), lengthChecks(def, { $strLenCP: safe(typeIs(value, ['string']), value, '') })));
    case 'number':
      return (guarded(isNumber(value), [
        { $not: [{ $in: [value, [Number.NaN, Infinity, -Infinity]] }] },
        ...numberChecks(def, safe(typeIs(value, NUMERIC_TYPES), value, 0)),
      ]));
    case 'boolean':
      return (typeIs(value, ['bool']));
    case 'null':
      return (typeIs(value, ['null']));
    case 'date':
      // A BSON date beyond what a JS Date holds (±8.64e15 ms) arrives as an Invalid Date, which zod refuses.
      return (guarded(typeIs(value, ['date']), [{ $lte: [{ $abs: { $toLong: safe(typeIs(value, ['date']), value, new Date(0)) } }, 8.64e15] }]));
    case 'literal':
    case 'enum':
      return oneOf(value, def.type === 'enum' ? Object.values(def.entries ?? {}) : [...(def.values ?? [])]);
    case 'union':
      return union(def, value);
    case 'record':
      return record(def, value);
    case 'array': {
      const element = compile(def.element as ZodType, '$$e');
      const array = safe({ $isArray: value }, value, []);
      return (guarded({ $isArray: value }, [
        ...lengthChecks(def, { $size: array }),
        { $allElementsTrue: [{ $map: { input: array, as: 'e', in: element } }] },
      ]));
    }
    case 'object': {
      const catchall = def.catchall === undefined ? undefined : defOf(def.catchall).type;
      if (catchall !== undefined && catchall !== 'unknown' && catchall !== 'any') throw new Inexpressible(); // strict objects
      let allOptional = true;
      const fields = Object.entries(def.shape ?? {}).map(([key, field]) => {
        if (key.includes('.') || key.startsWith('$')) throw new Inexpressible();
        // A key an instance of a BSON class has (Date's getTime, Decimal128's bytes, the `_id` that
        // mongoose adds to every ObjectId, Object.prototype's toString…) would be read from it by
        // zod where such a value is stored. A stored document itself is a plain object or a DBRef.
        if ((value === '$$ROOT' ? DOCUMENT_INSTANCES : OBJECT_LIKE_INSTANCES).some((instance) => key in instance)) throw new Inexpressible();
        const path = `${value === '$$ROOT' ? '$' : `${value}.`}${key}`;
        // Whether a missing key is accepted is zod's to say (an optional, a default, an any, but
        // not an any made nullable): asked of zod itself rather than re-derived from the wrappers.
        const missing = { $eq: [{ $type: path }, 'missing'] };
        if (z.safeParse(z.object({ [key]: field }), {}).success) return { $or: [missing, compile(field, path)] };
        allOptional = false;
        return { $and: [{ $not: [missing] }, compile(field, path)] };
      });
      // zod takes any JS object but an array for an object: a Date, an ObjectId, a Decimal128… too,
      // which pass where every key may be missing (the server sees no fields in them either).
      const isObject = allOptional ? { $or: [typeIs(value, ['object', ...OBJECT_LIKE_TYPES]), { $and: [{ $eq: [{ $type: value }, 'long'] }, { $not: [isNumber(value)] }] }] } : typeIs(value, ['object']);
      // A DBRef has none of the keys (checked above): zod finds every one missing.
      return { $cond: [dbRefShaped(value), allOptional, guarded(isObject, fields)] };
    }
    default:
      throw new Inexpressible();
  }
}

/**
 * A stored (sub)document the driver hands over as a DBRef, not as a plain object: by the BSON
 * library's rule, its `$` keys are only `$ref`, `$id` and `$db` (one at least), `$ref` is a string,
 * `$id` is there and not null, `$db` is absent or a string. zod reads a schema's keys from the
 * DBRef, not from the stored fields. (Strings starting with `$` are field paths in an expression:
 * the key names are `$literal`s.)
 */
function dbRefShaped(value: string): Expression {
  const dollarKeys = { $filter: { input: { $objectToArray: safe(typeIs(value, ['object']), value, {}) }, as: 'kv', cond: { $eq: [{ $substrCP: ['$$kv.k', 0, 1] }, { $literal: '$' }] } } };
  const some = (key: string, test: Expression) => ({ $anyElementTrue: [{ $map: { input: '$$dollar', as: 'kv', in: { $and: [{ $eq: ['$$kv.k', { $literal: key }] }, test] } } }] });
  return {
    $let: {
      vars: { dollar: dollarKeys },
      in: {
        $and: [
          { $gt: [{ $size: '$$dollar' }, 0] },
          { $allElementsTrue: [{ $map: { input: '$$dollar', as: 'kv', in: { $in: ['$$kv.k', { $literal: ['$ref', '$id', '$db'] }] } } }] },
          some('$ref', { $eq: [{ $type: '$$kv.v' }, 'string'] }),
          some('$id', { $not: [{ $in: [{ $type: '$$kv.v' }, ['null', 'undefined']] }] }),
          { $not: [some('$db', { $ne: [{ $type: '$$kv.v' }, 'string'] })] },
        ],
      },
    },
  };
}

/**
 * A record with string keys: zod takes a plain object (a stored subdocument, not a DBRef or any
 * other BSON class) whose every own key but `__proto__` passes the key schema and every value the
 * value schema. Records keyed by an enum or literals (every key required), partial or loose ones,
 * and any other key schema are not expressed.
 */
function record(def: Def, value: string): Expression {
  if (def.keyType === undefined || def.valueType === undefined || defOf(def.keyType).type !== 'string' || def.partial === true || def.mode !== undefined) throw new Inexpressible();
  const isObject = typeIs(value, ['object']);
  const entries = { $objectToArray: safe(isObject, value, {}) };
  const entry = { $or: [{ $eq: ['$$kv.k', { $literal: '__proto__' }] }, all([compile(def.keyType, '$$kv.k'), compile(def.valueType, '$$kv.v')])] };
  return guarded(isObject, [{ $not: [dbRefShaped(value)] }, { $allElementsTrue: [{ $map: { input: entries, as: 'kv', in: entry } }] }]);
}

/** `value` is one of `allowed` as zod compares them (`===`, on what the driver hands it). */
function oneOf(value: string, allowed: readonly unknown[]): Expression {
  if (!allowed.every((item) => ['string', 'number', 'boolean'].includes(typeof item) || item === null)) throw new Inexpressible();
  // $in compares 1, 1.0 and Decimal128('1') alike; zod takes only what the driver hands it as a
  // number, so the BSON type is checked first. Strings and booleans compare by type and value.
  const types = new Set(allowed.map((item) => (item === null ? 'null' : typeof item === 'boolean' ? 'bool' : typeof item === 'string' ? 'string' : 'number')));
  const typeChecks = [...types].map((type) => (type === 'number' ? isNumber(value) : typeIs(value, [type])));
  return { $and: [{ $or: typeChecks }, { $in: [value, allowed.map((item) => ({ $literal: item }))] }] };
}

/**
 * A union takes what one of its options takes: the `$or` of theirs. A discriminated union tries
 * only the option its discriminator's value picks; each option checks its own discriminator and
 * zod refuses two options claiming the same value, so the picked option is the only one that can
 * accept, and the `$or` is exact too, as long as no option claims a missing discriminator (zod
 * then marks a missing one ambiguous where two do, and a default claims it too: not expressed).
 * An exclusive union (`z.xor`, exactly one option) and a discriminated union falling back to
 * trying every option are not expressed either.
 */
function union(def: Def, value: string): Expression {
  const options = def.options ?? [];
  const discriminator = def.discriminator as string | undefined;
  if (discriminator === undefined && def.inclusive === false) throw new Inexpressible();
  if (discriminator !== undefined) {
    if (def.unionFallback === true) throw new Inexpressible();
    for (const option of options) {
      const claimed = (option._zod as { propValues?: Record<string, ReadonlySet<unknown>> }).propValues?.[discriminator];
      if (defOf(option).type !== 'object' || claimed === undefined || claimed.size === 0 || claimed.has(undefined)) throw new Inexpressible();
    }
  }
  return { $or: options.map((option) => compile(option, value)) };
}

function lengthChecks(def: Def, length: Expression): Expression[] {
  return (def.checks ?? []).map(({ _zod: { def: check } }) => {
    if (check.check === 'min_length') return { $gte: [length, check.minimum] };
    if (check.check === 'max_length') return { $lte: [length, check.maximum] };
    if (check.check === 'length_equals') return { $eq: [length, (check as { length?: number }).length] };
    throw new Inexpressible();
  });
}

/** A value the driver hands to zod as a JS number: a double, an int32, or a long that fits in 53 bits. */
function isNumber(value: string): Expression {
  const long = { $eq: [{ $type: value }, 'long'] };
  const fits = { $lte: [{ $abs: safe(long, value, 0) }, LARGEST_PROMOTED_LONG] };
  return { $or: [typeIs(value, ['double', 'int']), { $and: [long, fits] }] };
}

function numberChecks(def: Def, value: Expression): Expression[] {
  const checks: Expression[] = [];
  // z.int() carries its format on the schema itself; z.number().int() as a check.
  const formats = [def.check === 'number_format' ? def.format : undefined, ...(def.checks ?? []).map(({ _zod: { def: check } }) => (check.check === 'number_format' ? check.format : undefined))];
  for (const format of formats) {
    if (format === undefined) continue;
    if (format !== 'safeint' && format !== 'int32') throw new Inexpressible();
    const [min, max] = format === 'int32' ? [-(2 ** 31), 2 ** 31 - 1] : [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    checks.push({ $eq: [{ $floor: value }, value] }, { $gte: [value, min] }, { $lte: [value, max] });
  }
  for (const { _zod: { def: check } } of def.checks ?? []) {
    if (check.check === 'number_format') continue;
    if (check.check === 'greater_than') checks.push({ [check.inclusive ? '$gte' : '$gt']: [value, check.value] });
    else if (check.check === 'less_than') checks.push({ [check.inclusive ? '$lte' : '$lt']: [value, check.value] });
    else throw new Inexpressible();
  }
  return checks;
}
