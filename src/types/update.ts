import type { Condition, Document, NumericType, Timestamp, WithId } from 'mongodb';
import type { ElementOf, PathOf, PathOfType, UpdateIndex, ValueAt } from './paths.js';

type Paths<T> = PathOf<WithId<T>, UpdateIndex>;
type At<T, P extends string> = ValueAt<WithId<T>, P>;

/** `{ path: value }` for every path of the latest shape, each value of that path's type. @public */
export type UpdateFields<T> = { readonly [P in Paths<T>]?: At<T, P> };

/** No field fits: an object with no keys (a mapped type over no keys would be `{}`, which takes anything). */
type NoFields = { readonly [key: string]: never };
type Fitting<K, M> = [K] extends [never] ? NoFields : M;
type FieldsOfType<T, V, Value> = Fitting<PathOfType<T, V, UpdateIndex>, { readonly [P in PathOfType<T, V, UpdateIndex>]?: Value }>;
type ArrayPaths<T> = PathOfType<T, ReadonlyArray<unknown>, UpdateIndex>;
/** Paths whose value may be missing or null: the only ones `$unset` (or `$rename` away) leaves valid. */
type RemovablePaths<T> = { [P in Paths<T>]-?: undefined extends At<T, P> ? P : null extends At<T, P> ? P : never }[Paths<T>];
/** Paths `$rename` may move to: not through arrays (the server refuses those), not the source, of a type the moved value fits. */
type RenameTargets<T, From extends string> = {
  [P in PathOf<WithId<T>, never>]-?: P extends From ? never : NonNullable<At<T, From>> extends At<T, P> ? P : never;
}[PathOf<WithId<T>, never>];
/** A `$pull` condition on an array's elements: a value, an operator condition, or a filter on an element document. */
type PullCondition<E> = E extends Document ? E | { readonly [P in PathOf<E>]?: Condition<ValueAt<E, P>> } : E | Condition<E>;
type EachOf<E> = E | { readonly $each: readonly E[]; readonly $position?: number; readonly $slice?: number; readonly $sort?: 1 | -1 | Document };

/**
 * Update operators on the latest shape of a versioned collection: `$set: { 'address.city': 42 }`
 * on a string field, `$inc` on a field that is not a number, `$push` on one that is not an array,
 * and every unknown or old path (the version field included) do not compile. Positional paths
 * (`items.$.qty`, `items.$[].qty`, `items.$[x].qty`) are paths too. An aggregation pipeline
 * (an array of stages) is accepted unchecked.
 * @public
 */
export interface VersionedUpdate<T> {
  $set?: UpdateFields<T>;
  $setOnInsert?: UpdateFields<T>;
  $min?: UpdateFields<T>;
  $max?: UpdateFields<T>;
  $inc?: FieldsOfType<T, NumericType, NumericType>;
  $mul?: FieldsOfType<T, NumericType, NumericType>;
  /** Only of paths that may be missing or null: unsetting a required field stores a document its schema refuses. */
  $unset?: Fitting<RemovablePaths<T>, { readonly [P in RemovablePaths<T>]?: '' | true | 1 }>;
  /** From a path that may be missing or null to a path of the latest shape whose type the value fits. */
  $rename?: Fitting<RemovablePaths<T>, { readonly [P in RemovablePaths<T>]?: RenameTargets<T, P> }>;
  $currentDate?: FieldsOfType<T, Date | Timestamp, true | { readonly $type: 'date' | 'timestamp' }>;
  $push?: Fitting<ArrayPaths<T>, { readonly [P in ArrayPaths<T>]?: EachOf<ElementOf<NonNullable<At<T, P>>>> }>;
  $addToSet?: Fitting<ArrayPaths<T>, { readonly [P in ArrayPaths<T>]?: ElementOf<NonNullable<At<T, P>>> | { readonly $each: readonly ElementOf<NonNullable<At<T, P>>>[] } }>;
  /** A value, or a condition on the elements, typed against the element type. */
  $pull?: Fitting<ArrayPaths<T>, { readonly [P in ArrayPaths<T>]?: PullCondition<ElementOf<NonNullable<At<T, P>>>> }>;
  $pullAll?: Fitting<ArrayPaths<T>, { readonly [P in ArrayPaths<T>]?: readonly ElementOf<NonNullable<At<T, P>>>[] }>;
  $pop?: Fitting<ArrayPaths<T>, { readonly [P in ArrayPaths<T>]?: 1 | -1 }>;
  $bit?: FieldsOfType<T, NumericType, { and: number } | { or: number } | { xor: number }>;
}

/** What the update methods take: operators on the latest shape, or a pipeline (unchecked). @public */
export type VersionedUpdateOrPipeline<T> = VersionedUpdate<T> | readonly Document[];
