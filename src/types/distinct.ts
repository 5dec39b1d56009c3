import type { WithId } from 'mongodb';
import type { ElementOf, ValueAt } from './paths.js';

/**
 * The values `distinct(key)` returns for a path of the latest shape: arrays are unwound (as the
 * server does) and a missing field contributes nothing.
 * @public
 */
export type DistinctValue<T, K extends string> = Exclude<ElementOf<ValueAt<WithId<T>, K>>, undefined>;
