import { describe, test } from 'vitest';
import { z } from 'zod';
import { defineSchema, step } from 'mongo-molt';

const V1 = z.object({ _id: z.string(), full_name: z.string() });
const V2 = z.object({ _id: z.string(), name: z.string(), phone: z.string().nullable() });
const V3 = z.object({ _id: z.string(), name: z.string(), phone: z.string().nullable(), tags: z.array(z.string()) });
const base = defineSchema('user').version(1, V1);

/** A named helper typed with the next version's input: exact by its declaration. */
function toV2(v1: z.output<typeof V1>): z.input<typeof V2> {
  return { _id: v1._id, name: v1.full_name, phone: null };
}
async function toV2Async(v1: z.output<typeof V1>): Promise<z.input<typeof V2>> {
  return Promise.resolve(toV2(v1));
}

// Never run: these lines are checked by the type checker only.
describe('upcaster and downcaster results are checked exactly against the version they produce', () => {
  test('exact results compile', () => {
    void base.version(2, V2, (v1) => ({ _id: v1._id, name: v1.full_name, phone: null }));
    void base.version(2, V2, ({ full_name, ...rest }) => ({ ...rest, name: full_name, phone: null }));
    void base.version(2, V2, async ({ full_name, ...rest }) => Promise.resolve({ ...rest, name: full_name, phone: null }));
    void base.version(2, V2, toV2);
    void base.version(2, V2, toV2Async);
    void base.version(2, V2, { up: toV2, down: ({ name, phone: _phone, ...rest }) => ({ ...rest, full_name: name }) });
    void base.version(2, V2, toV2).version(3, V3, { up: (v2) => ({ ...v2, tags: [] }), down: ({ tags: _tags, ...v2 }) => v2 });
    // `_id` is the document's identity: kept even by a version whose schema leaves it out.
    void base.version(2, z.object({ name: z.string() }), (v1) => ({ _id: v1._id, name: v1.full_name }));
  });

  test('a stray key does not compile', () => {
    // @ts-expect-error the spread keeps full_name, which would be stored with every document
    void base.version(2, V2, (v1) => ({ ...v1, name: v1.full_name, phone: null }));
    // @ts-expect-error a misspelt key is not a field of version 2
    void base.version(2, V2, ({ full_name, ...rest }) => ({ ...rest, name: full_name, phone: null, typo_field: 1 }));
    // @ts-expect-error async: the same check on the settled result
    void base.version(2, V2, async (v1) => Promise.resolve({ ...v1, name: v1.full_name, phone: null }));
    // @ts-expect-error in the { up } form too
    void base.version(2, V2, { up: (v1) => ({ ...v1, name: v1.full_name, phone: null }) });
    // @ts-expect-error the downcaster keeps tags, which version 2 does not have
    void base.version(2, V2, toV2).version(3, V3, { up: (v2) => ({ ...v2, tags: [] }), down: (v3) => ({ ...v3 }) });
    // @ts-expect-error a key of one branch only is still a stray key
    void base.version(2, V2, (v1) => (v1.full_name === '' ? { _id: v1._id, name: '', phone: null } : { _id: v1._id, name: v1.full_name, phone: null, nmae: v1.full_name }));
  });

  test('declarative steps are checked the same way', () => {
    void base.version(2, V2, [step.rename('full_name', 'name'), step.add('phone', null)]);
    // @ts-expect-error the step adds a field version 2 does not have
    void base.version(2, V2, [step.rename('full_name', 'name'), step.add('phone', null), step.add('typo_field', 1)]);
    // @ts-expect-error nothing removes full_name: it would be kept
    void base.version(2, z.object({ _id: z.string(), full_name: z.string(), phone: z.string().nullable() }).omit({ full_name: true }), [step.add('phone', null)]);
  });
});
