import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './fixtures/run-molt.js';

/** The README's first ts block after `heading`. */
function codeBlockAfter(heading: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf(heading)));
  if (!match?.[1]) throw new Error(`README has no ts block after "${heading}"`);
  return match[1];
}

it('the README\'s declarative steps example defines a schema that migrates a version-1 document', async () => {
  const tmp = join(ROOT, 'test', '.tmp');
  mkdirSync(tmp, { recursive: true });
  const file = join(tmp, 'readme-steps.ts');
  writeFileSync(file, `${codeBlockAfter('## Migrations as data')}\nexport { Product };\n`);
  const { Product } = (await import(/* @vite-ignore */ file)) as { Product: { migrateSync(raw: unknown): { value: unknown } } };
  expect(Product.migrateSync({ _id: 'p', full_name: 'Pen', price: '1.5' }).value).toEqual({ _id: 'p', display_name: 'Pen', email: null, priceCents: 150 });
});
