import type { FindOneAndDeleteOptions, FindOneAndReplaceOptions, FindOneAndUpdateOptions, FindOptions, UpdateOptions } from 'mongodb';
import type { ExactProjection } from './projection.js';
import type { VersionedSort } from './sort.js';

/** `FindOptions` with the sort and the projection typed on the latest shape. @public */
export type VersionedFindOptions<T, P = undefined> = Omit<FindOptions, 'sort' | 'projection'> & {
  readonly sort?: VersionedSort<T> | undefined;
  /** Applied to the latest shape, after the upcast; types the documents returned. */
  readonly projection?: ExactProjection<T, P>;
};

/** `UpdateOptions` with `sort` (which document `updateOne` picks) typed on the latest shape. @public */
export type VersionedUpdateOptions<T> = Omit<UpdateOptions, 'sort'> & { readonly sort?: VersionedSort<T> | undefined };

/**
 * `FindOneAndUpdateOptions` with `sort` typed on the latest shape, and no `projection`: the server
 * would project the stored document before it is upcast (read it with `findOne` and a projection).
 * @public
 */
export type VersionedFindOneAndUpdateOptions<T> = Omit<FindOneAndUpdateOptions, 'sort' | 'projection'> & { readonly sort?: VersionedSort<T> | undefined };

/** `FindOneAndReplaceOptions` with `sort` typed on the latest shape, and no `projection` (see findOneAndUpdate's). @public */
export type VersionedFindOneAndReplaceOptions<T> = Omit<FindOneAndReplaceOptions, 'sort' | 'projection'> & { readonly sort?: VersionedSort<T> | undefined };

/** `FindOneAndDeleteOptions` with `sort` typed on the latest shape, and no `projection` (see findOneAndUpdate's). @public */
export type VersionedFindOneAndDeleteOptions<T> = Omit<FindOneAndDeleteOptions, 'sort' | 'projection'> & { readonly sort?: VersionedSort<T> | undefined };

