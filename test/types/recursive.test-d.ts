import { expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import type { Collection, Document } from 'mongodb';
import { defineSchema, versioned, type PathOf } from 'mongo-molt';

interface Category {
  name: string;
  children: Category[];
  parent?: Category | undefined;
}
const CategoryShape: z.ZodType<Category> = z.object({
  name: z.string(),
  get children() {
    return z.array(CategoryShape);
  },
  get parent() {
    return CategoryShape.optional();
  },
});
const Tree = defineSchema('tree').version(1, z.object({ _id: z.string(), root: CategoryShape }));
declare const raw: Collection<Document>;
const trees = versioned(raw, Tree);

// Never run: a recursive shape must not make the compiler recurse without end.
test('paths into a recursive shape stop at a fixed depth', () => {
  void trees.find({ 'root.name': 'a', 'root.children.name': 'b', 'root.parent.parent.name': 'c' });
  void trees.updateOne({ _id: 't' }, { $set: { 'root.children.$[].name': 'x' } });
  // @ts-expect-error wrong type, deep in a recursive shape
  void trees.find({ 'root.parent.name': 1 });
  expectTypeOf<'root.children.0.children.0.name' extends PathOf<{ root: Category }> ? true : false>().toEqualTypeOf<true>();
});
