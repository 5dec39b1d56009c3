/**
 * Definition-time checks of a list of declarative steps against the zod schemas around it: the
 * source of each step exists before it, its target exists after the list, and an added default
 * is a valid value of its field. A mistake is a `SchemaDefinitionError` naming the step when the
 * schema is defined, not a surprise when a document is read.
 *
 * Schemas that are not objects all the way down (a record, a union, a passthrough of unknown keys)
 * cannot be checked path by path: where a path leaves the declared shape, the check is skipped.
 */
import { fieldSchema, type ZodType } from '../schema/zod/index.js';
import { describeStep, type DeclarativeStep } from './step.js';

/** A problem found in a list of steps, to be wrapped in a `SchemaDefinitionError` by the caller. */
export function checkSteps(steps: readonly DeclarativeStep[], before: ZodType, after: ZodType): string | undefined {
  // Which paths exist as the list runs: known from `before`, then changed step by step.
  const added = new Set<string>();
  const removed = new Set<string>();
  const exists = (path: string): boolean | 'unknown' => {
    if (added.has(path)) return true;
    if ([...removed].some((gone) => path === gone || path.startsWith(`${gone}.`))) return false;
    const found = fieldSchema(before, path);
    return found === 'unknown' ? 'unknown' : found !== 'absent';
  };
  const gone = (path: string) => {
    added.delete(path);
    removed.add(path);
  };
  const put = (path: string) => {
    removed.delete(path);
    added.add(path);
  };
  const targets: Array<{ path: string; s: DeclarativeStep }> = [];

  for (const s of steps) {
    const name = describeStep(s);
    const source = s.kind === 'rename' || s.kind === 'convert' ? s.from : s.field;
    if (typeof source !== 'string' || source.length === 0 || source.startsWith('$') || source.split('.').includes('')) {
      return `${name}: a field path must be a non-empty dotted path without a leading "$".`;
    }
    if (source === '_id' || source.startsWith('_id.')) return `${name}: "_id" cannot be changed by a step.`;
    switch (s.kind) {
      case 'rename':
      case 'convert': {
        if (typeof s.to !== 'string' || s.to.length === 0 || s.to.startsWith('$') || s.to.split('.').includes('')) {
          return `${name}: a field path must be a non-empty dotted path without a leading "$".`;
        }
        if (s.to === '_id' || s.to.startsWith('_id.')) return `${name}: "_id" cannot be changed by a step.`;
        if (s.kind === 'rename' && s.from === s.to) return `${name}: renames a field to itself.`;
        if (s.kind === 'convert' && typeof s.up !== 'function') return `${name}: needs an up function.`;
        if (s.kind === 'convert' && s.down !== undefined && typeof s.down !== 'function') return `${name}: down must be a function.`;
        if (s.kind === 'convert' && s.canonical === true && s.down === undefined) return `${name}: canonical needs a down function (conditions map back through it).`;
        if (s.to !== s.from && (s.to.startsWith(`${s.from}.`) || s.from.startsWith(`${s.to}.`))) {
          return `${name}: one path lies inside the other; move the field in two steps.`;
        }
        if (exists(s.from) === false) return `${name}: "${s.from}" does not exist in the previous version's schema (or an earlier step removed it).`;
        if (s.to !== s.from && exists(s.to) === true) return `${name}: "${s.to}" already exists before this step; remove it first or pick another name.`;
        gone(s.from);
        put(s.to);
        targets.push({ path: s.to, s });
        break;
      }
      case 'add':
        if (exists(s.field) === true) return `${name}: "${s.field}" already exists before this step: add is for a new field.`;
        put(s.field);
        targets.push({ path: s.field, s });
        break;
      case 'remove':
        if (exists(s.field) === false) return `${name}: "${s.field}" does not exist in the previous version's schema (or an earlier step removed it).`;
        gone(s.field);
        break;
    }
  }

  for (const { path, s } of targets) {
    if (!added.has(path)) continue; // a later step moved or removed it
    const found = fieldSchema(after, path);
    if (found === 'absent') return `${describeStep(s)}: "${path}" is not declared by the next version's schema.`;
    if (s.kind === 'add' && found !== 'unknown') {
      if (!accepts(found, s.value)) {
        return `${describeStep(s)}: the default ${JSON.stringify(s.value)} is not a valid "${path}" in the next version's schema.`;
      }
    }
  }
  for (const path of removed) {
    const found = fieldSchema(after, path);
    if (found !== 'absent' && found !== 'unknown' && !added.has(path) && !accepts(found, undefined)) {
      const s = steps.find((candidate) => (candidate.kind === 'remove' ? candidate.field : candidate.kind === 'add' ? '' : candidate.from) === path);
      return `${s ? describeStep(s) : path}: "${path}" is still declared by the next version's schema; a document migrated by these steps would lack it.`;
    }
  }
  return undefined;
}

/** Whether a field schema accepts `value` (an async schema is given the benefit of the doubt). */
function accepts(schema: ZodType, value: unknown): boolean {
  const result = (schema as unknown as { '~standard': { validate(value: unknown): unknown } })['~standard'].validate(value);
  return result instanceof Promise || (result as { issues?: unknown }).issues === undefined;
}
