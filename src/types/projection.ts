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
 * parameter escapes excess-property checks; this puts them back, with a message the compiler
 * shows for each key that is not a path (an old field name, a typo).
 */
export type ExactProjection<T, P> = P & { readonly [K in Exclude<keyof P, PathOf<WithId<T>>>]: `${K & string} is not a path of the latest version` };

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

type RequiredKeys<R> = { [K in keyof R]-?: {} extends Pick<R, K> ? never : K }[keyof R]; // eslint-disable-line @typescript-eslint/no-empty-object-type

/** Keys of a result type that the latest shape does not have, or whose type the latest shape's value does not fit. */
type Unfitting<D, R> = { [K in keyof R]-?: K extends keyof WithId<D> ? (WithId<D>[K] extends R[K] ? never : K) : K }[keyof R] & string;

/**
 * What `cursor.project<Result>(projection)` (the driver's spelling) takes: a projection that
 * includes every required key of `Result` (and does not exclude `_id` if `Result` needs it), where
 * each key of `Result` is a field of the latest shape whose type fits. Otherwise the compiler
 * names the key, and says to leave the type argument out: the documents are typed from the
 * projection itself.
 * @public
 */
export type ProjectionFor<D, R> = VersionedProjection<D> &
  { readonly [K in Exclude<RequiredKeys<R>, '_id'> & string]: 1 | true } &
  ('_id' extends RequiredKeys<R> ? { readonly _id?: 1 | true } : unknown) &
  { readonly [K in Unfitting<D, R> as `${K}: not a field of the latest shape, or of another type; write .project({ ... }) without a type argument, the documents are typed from the projection`]: never };

/** What `project()` takes on a cursor that `map()` has already changed: nothing fits. */
export type ProjectAfterMap = 'project() after map(): map() has changed the documents, so project() first, then map()';
