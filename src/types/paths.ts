import type { WithId } from 'mongodb';

/** Values a path stops at: MongoDB does not address fields inside them. */
type Leaf =
  | string
  | number
  | bigint
  | boolean
  | symbol
  | null
  | undefined
  | Date
  | RegExp
  | Uint8Array
  | ((...args: never[]) => unknown)
  | { readonly _bsontype: string };

/** Paths stop this deep: recursive shapes (`z.lazy`) must not make the compiler recurse forever. */
type MaxDepth = 6;

/** The segments that address an array element in a path of a filter (`tags.0`). */
export type FilterIndex = `${number}`;
/** The segments that address array elements in a path of an update (`tags.0`, `tags.$`, `tags.$[]`, `tags.$[x]`). */
export type UpdateIndex = `${number}` | '$' | '$[]' | `$[${string}]`;

/**
 * Every path into `T` in MongoDB's dot notation: top-level keys, dotted paths into embedded
 * documents, array indexes (`Index`), and paths through arrays without an index (`items.sku`
 * matches any element's `sku`, as on the server).
 * @public
 */
export type PathOf<T, Index extends string = FilterIndex> = Paths<T, Index, []>;

type Paths<T, Index extends string, Depth extends unknown[]> = Depth['length'] extends MaxDepth
  ? never
  : T extends Leaf
    ? never
    : T extends ReadonlyArray<infer E>
      ? Index | `${Index}.${Paths<E, Index, [...Depth, 1]>}` | Paths<E, Index, [...Depth, 1]>
      : T extends object
        ? { [K in keyof T & string]-?: K | `${K}.${Paths<T[K], Index, [...Depth, 1]>}` }[keyof T & string]
        : never;

/**
 * The type of the value at path `P` of `T` (an array element for an index segment or a path
 * through an array), `never` for a path `T` does not have.
 * @public
 */
export type ValueAt<T, P extends string> = T extends ReadonlyArray<infer E>
  ? P extends UpdateIndex
    ? E
    : P extends `${UpdateIndex}.${infer Rest}`
      ? ValueAt<E, Rest>
      : ValueAt<E, P>
  : T extends Leaf
    ? never
    : P extends keyof T
      ? T[P]
      : P extends `${infer Head}.${infer Rest}`
        ? Head extends keyof T
          ? ValueAt<NonNullable<T[Head]>, Rest>
          : never
        : never;

/** Paths of `WithId<T>` whose value is assignable to `V` (numbers for `$inc`, arrays for `$push`). */
export type PathOfType<T, V, Index extends string = FilterIndex> = {
  [P in PathOf<WithId<T>, Index>]-?: NonNullable<ValueAt<WithId<T>, P>> extends V ? P : never;
}[PathOf<WithId<T>, Index>];

/** The element type of an array value, the value itself otherwise (what `distinct` and `$push` see). */
export type ElementOf<V> = V extends ReadonlyArray<infer E> ? E : V;
