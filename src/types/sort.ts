import type { SortDirection, WithId } from 'mongodb';
import type { PathOf } from './paths.js';

/**
 * A sort on the latest shape: `{ path: direction }`, a path, or `[path, direction]` pairs, with
 * paths of the latest shape only (an old or misspelled field would sort on nothing).
 * @public
 */
export type VersionedSort<T> =
  | PathOf<WithId<T>>
  | readonly PathOf<WithId<T>>[]
  | { readonly [P in PathOf<WithId<T>>]?: SortDirection }
  | readonly (readonly [PathOf<WithId<T>>, SortDirection])[]
  | readonly [PathOf<WithId<T>>, SortDirection];
