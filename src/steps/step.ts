/**
 * Declarative steps: a version's migration written as data (rename, add, remove, convert) instead
 * of a function. Being data, each step knows how to go up, how to go down (when it can), how a
 * filter on the new shape reads on the old one, and how to run on the server as an update pipeline.
 */
/** An aggregation expression, as plain data (the engine does not load the driver). */
export type Expression = Readonly<Record<string, unknown>>;

/** Renames a field (dotted paths allowed). Invertible. */
export interface RenameStep<From extends string = string, To extends string = string> {
  readonly kind: 'rename';
  readonly from: From;
  readonly to: To;
}

/** Adds a field with a default where a document lacks it. Down removes it. */
export interface AddStep<Field extends string = string, Value = unknown> {
  readonly kind: 'add';
  readonly field: Field;
  readonly value: Value;
}

/** Removes a field. Lossy: a chain with a `remove` has no `down`. */
export interface RemoveStep<Field extends string = string> {
  readonly kind: 'remove';
  readonly field: Field;
}

/** The functions (and optional server forms) of a `convert` step. */
export interface ConvertFunctions<In, Out> {
  /** The new value from the old one. */
  readonly up: (value: In) => Out;
  /** The old value from the new one; without it the step is lossy (no `down`, no query translation of the field). */
  readonly down?: (value: Out) => In;
  /** The server form of `up`: an aggregation expression over the document (`'$price'` is the old value). */
  readonly upExpr?: Expression;
  /** The server form of `down`: an aggregation expression over the document (`'$priceCents'` is the new value). */
  readonly downExpr?: Expression;
  /**
   * Every stored value is in the one form `down` gives back (`down(up(x))` is `x`: no `'1.50'` next
   * to `'1.5'`), so a condition on the new value maps back through `down` to one stored value and
   * can use an index. Without it, conditions on the new value are compared on the server through
   * `upExpr` (exact whatever the stored form), or refused. `molt check --round-trip` finds stored
   * values that are not in that form.
   */
  readonly canonical?: boolean;
}

/** Converts a field's value (and may move it: `to` may equal `from`). */
export interface ConvertStep<From extends string = string, To extends string = string, In = unknown, Out = unknown>
  extends ConvertFunctions<In, Out> {
  readonly kind: 'convert';
  readonly from: From;
  readonly to: To;
}

/** A convert step whatever its value types (its functions are checked where the step is built). */
export type AnyConvertStep = ConvertStep<string, string, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One declarative step. */
export type DeclarativeStep = RenameStep | AddStep | RemoveStep | AnyConvertStep;

/**
 * The declarative steps, for `.version(n, schema, [ … ])`:
 *
 * ```ts
 * .version(2, UserV2, [step.rename('full_name', 'display_name'), step.add('email', null)])
 * ```
 * @public
 */
export const step = Object.freeze({
  /** Renames `from` to `to` (dotted paths allowed). */
  rename<const From extends string, const To extends string>(from: From, to: To): RenameStep<From, To> {
    return Object.freeze({ kind: 'rename', from, to });
  },
  /** Sets `field` to `value` on documents that lack it (a present `null` is kept). */
  add<const Field extends string, Value>(field: Field, value: Value): AddStep<Field, Value> {
    return Object.freeze({ kind: 'add', field, value });
  },
  /** Removes `field`. Lossy: down cannot restore it (keep an archive: `sweep({ archive: true })`). */
  remove<const Field extends string>(field: Field): RemoveStep<Field> {
    return Object.freeze({ kind: 'remove', field });
  },
  /** Converts the value of `from` with `up` and stores it at `to` (which may equal `from`). */
  convert<const From extends string, const To extends string, In, Out>(
    from: From,
    to: To,
    functions: ConvertFunctions<In, Out>,
  ): ConvertStep<From, To, In, Out> {
    return Object.freeze({ kind: 'convert', from, to, ...functions });
  },
});

/** Whether `value` is one of the declarative steps built by `step`. */
export function isDeclarativeStep(value: unknown): value is DeclarativeStep {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'rename' || kind === 'add' || kind === 'remove' || kind === 'convert';
}

/** How a step reads in messages: `step.rename('full_name', 'display_name')`. */
export function describeStep(s: DeclarativeStep): string {
  switch (s.kind) {
    case 'rename':
      return `step.rename('${s.from}', '${s.to}')`;
    case 'add':
      return `step.add('${s.field}', …)`;
    case 'remove':
      return `step.remove('${s.field}')`;
    case 'convert':
      return `step.convert('${s.from}', '${s.to}', …)`;
  }
}
