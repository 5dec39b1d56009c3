/**
 * Filters as translation builds them: a filter, or a constant (`true` matches every document,
 * `false` none) that disappears into the logic around it.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Filter } from './chain.js';

/** A translated filter, or a constant. */
export type Translated = Filter | boolean;

/** A filter that matches no document, on every server. */
export const MATCH_NOTHING: Filter = Object.freeze({ _id: { $in: [] } });

/** The conjunction, merged into one object when the keys do not collide. */
export function and(parts: readonly Translated[]): Translated {
  if (parts.includes(false)) return false;
  const filters = parts.filter((part): part is Filter => part !== true);
  if (filters.length === 0) return true;
  if (filters.length === 1) return filters[0] as Filter;
  const merged: Filter = {};
  for (const filter of filters) {
    for (const [key, value] of Object.entries(filter)) {
      if (key in merged && !isDeepStrictEqual(merged[key], value)) return { $and: filters };
      merged[key] = value;
    }
  }
  return merged;
}

/** The disjunction. */
export function or(parts: readonly Translated[]): Translated {
  if (parts.includes(true)) return true;
  const filters = parts.filter((part): part is Filter => part !== false);
  if (filters.length === 0) return false;
  return filters.length === 1 ? (filters[0] as Filter) : { $or: filters };
}

/** Neither of the parts. */
export function nor(parts: readonly Translated[]): Translated {
  if (parts.includes(true)) return false;
  const filters = parts.filter((part): part is Filter => part !== false);
  return filters.length === 0 ? true : { $nor: filters };
}

/** A constant as a filter the server understands. */
export function toFilter(translated: Translated): Filter {
  if (translated === true) return {};
  if (translated === false) return { ...MATCH_NOTHING };
  return translated;
}
