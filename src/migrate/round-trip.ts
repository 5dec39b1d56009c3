import { isDeepStrictEqual } from 'node:util';
import { isPlainObject } from '../steps/paths.js';

/**
 * Whether a round trip (up then down, or down then up) lost or changed something of `original`.
 * Fields only `back` has (a version's defaults that the way back does not remove) are a gain,
 * not a loss.
 */
export function losesSomething(original: unknown, back: unknown): boolean {
  if (!isPlainObject(original) || !isPlainObject(back)) return !isDeepStrictEqual(original, back);
  return Object.keys(original).some((key) => !(key in back) || losesSomething(original[key], back[key]));
}

/** The fields of `original` that `back` lost or changed (top level). */
export function lostFields(original: Record<string, unknown>, back: Record<string, unknown>): string[] {
  return Object.keys(original).filter((key) => !(key in back) || losesSomething(original[key], back[key]));
}
