/**
 * A step's server form (`upExpr`) made safe to evaluate over every stored document: the server's
 * conversions (`$toInt`, `$convert`…) throw on a value they cannot convert (`'12,50'`), and one
 * such document would make every filter that compares through the expression fail. Each conversion
 * gets `onError: null` (so the expression never throws on it), and a separate test says whether
 * some conversion failed on the document at hand, so that it can be kept out of every condition.
 */

type Expression = unknown;

/** The `$toX` shorthands and the type `$convert` converts to. */
const SHORTHANDS: Readonly<Record<string, string>> = {
  $toDouble: 'double', $toInt: 'int', $toLong: 'long', $toDecimal: 'decimal',
  $toBool: 'bool', $toString: 'string', $toDate: 'date', $toObjectId: 'objectId',
};

// What a failed conversion gives in the failure test: no conversion gives an object.
const FAILED = { $literal: { unconvertible: true } };

/** `expression` with every conversion guarded, and the test that one of them failed (`undefined` when it converts nothing). */
export function guardConversions(expression: Expression): { value: Expression; fails: Expression | undefined } {
  const failures: Expression[] = [];
  const value = rewrite(expression, failures);
  return { value, fails: failures.length === 0 ? undefined : failures.length === 1 ? failures[0] : { $or: failures } };
}

function rewrite(expression: Expression, failures: Expression[]): Expression {
  if (Array.isArray(expression)) return expression.map((item) => rewrite(item, failures));
  if (typeof expression !== 'object' || expression === null || expression instanceof Date || expression instanceof RegExp) return expression;
  const entries = Object.entries(expression as Record<string, unknown>);
  if (entries.length === 1) {
    const [operator, argument] = entries[0] as [string, unknown];
    if (operator === '$literal') return expression;
    const to = SHORTHANDS[operator];
    if (to !== undefined) {
      const input = rewrite(Array.isArray(argument) && argument.length === 1 ? argument[0] : argument, failures);
      return convert(input, to, failures);
    }
    if (operator === '$convert' && typeof argument === 'object' && argument !== null && !Array.isArray(argument)) {
      const { input, to, onError, onNull, ...rest } = argument as Record<string, unknown>;
      const guardedInput = rewrite(input, failures);
      if (onError !== undefined) return { $convert: { ...rest, input: guardedInput, to, onError, ...(onNull === undefined ? {} : { onNull }) } };
      return convert(guardedInput, to, failures, onNull, rest);
    }
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, rewrite(item, failures)]));
}

/** A conversion that gives `null` where it fails, and records the test that it failed. */
function convert(input: Expression, to: unknown, failures: Expression[], onNull: unknown = null, rest: Record<string, unknown> = {}): Expression {
  failures.push({ $eq: [{ $convert: { ...rest, input, to, onError: FAILED, onNull: null } }, FAILED] });
  return { $convert: { ...rest, input, to, onError: null, onNull } };
}
