/**
 * Every question mongo-molt asks of a zod schema, in one place: its defs (`def.ts`), its shape and
 * keys (`shape.ts`), what parsing changes and the defaults it fills (`traits.ts`), and what the
 * server can validate (`validity.ts`).
 */
export { defOf, isSchema, unwrap, type ZodDef, type ZodType } from './def.js';
export { declaredKeys, declares, fieldSchema, shapeKeys, undeclaredKeys } from './shape.js';
export { defaultFills, schemaWithoutId, withDefaults, zodTraits, type DefaultFill, type OpaqueDefaults, type ZodTraits } from './traits.js';
export { validityExpression } from './validity.js';
