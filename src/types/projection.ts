import type { WithId } from 'mongodb';
import type { PathOf } from './paths.js';

/**
 * A projection on the latest shape: `1`/`true` to include, `0`/`false` to exclude, on paths of
 * the latest shape (it is applied after the upcast, so old field names are not there).
 * @public
 */
export type VersionedProjection<T> = { readonly [P in PathOf<WithId<T>>]?: 0 | 1 | boolean };

/**
 * `P` when each of its keys is a path of the latest shape. A projection inferred into a type
 * parameter escapes excess-property checks; this puts them back.
 */
export type ExactProjection<T, P> = P & { readonly [K in Exclude<keyof P, PathOf<WithId<T>>>]: never };

type Included<P> = { [K in keyof P]-?: P[K] extends 1 | true ? K : never }[keyof P];
type Excluded<P> = { [K in keyof P]-?: P[K] extends 0 | false ? K : never }[keyof P];
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/**
 * The documents a projection hands out: the included top-level fields (and `_id` unless
 * excluded), the document without the excluded top-level fields, or, where the projection is
 * not known precisely (dotted paths, a value typed `number`), a `Partial` of the document.
 * @public
 */
export type Projected<T, P> = [P] extends [undefined]
  ? WithId<T>
  : string extends keyof P
    ? Partial<WithId<T>>
    : Exclude<keyof P, keyof WithId<T>> extends never
      ? ProjectedKnown<WithId<T>, P>
      : Partial<WithId<T>>;

type ProjectedKnown<D, P> = Exclude<Included<P>, '_id'> extends never
  ? Exclude<keyof P, Included<P> | Excluded<P>> extends never
    ? Simplify<Omit<D, Excluded<P> & keyof D>>
    : Partial<D>
  : Excluded<P> extends never | '_id'
    ? Exclude<keyof P, Included<P> | Excluded<P>> extends never
      ? Simplify<Pick<D, (Included<P> | ('_id' extends Excluded<P> ? never : '_id')) & keyof D>>
      : Partial<D>
    : Partial<D>;
