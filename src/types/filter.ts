import type { Condition, Document, WithId } from 'mongodb';
import type { PathOf, ValueAt } from './paths.js';

/**
 * A filter on the latest shape of a versioned collection: every key is a path of the latest
 * shape (dotted paths and array indexes included) with a condition of that path's type, or a
 * root operator. Unknown, misspelled and old field names do not compile, and neither does the
 * version field (the library manages it). For raw access, use `.collection`.
 *
 * Unlike the driver's `Filter<T>`, there is no index signature: `{ full_name: 'Ada' }` on a
 * collection whose latest shape has `display_name` is a compile error, not an empty result.
 * @public
 */
export type VersionedFilter<T> = {
  [P in PathOf<WithId<T>>]?: Condition<ValueAt<WithId<T>, P>>;
} & FilterRootOperators<T>;

/** The operators a filter may have at its root, the logical ones typed with the same shape. @public */
export interface FilterRootOperators<T> {
  $and?: readonly VersionedFilter<T>[];
  $or?: readonly VersionedFilter<T>[];
  $nor?: readonly VersionedFilter<T>[];
  /** An aggregation expression: not checked against the shape. */
  $expr?: Document;
  $jsonSchema?: Document;
  $text?: { $search: string; $language?: string; $caseSensitive?: boolean; $diacriticSensitive?: boolean };
  $where?: string | ((this: T) => boolean);
  $comment?: string | Document;
}
