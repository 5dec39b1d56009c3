import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { afterAll, expect, inject, it, vi } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The README's code block that follows `heading`, as it stands in the file. */
function codeBlockAfter(heading: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(heading));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match?.[1]) throw new Error(`README has no ts block after "${heading}"`);
  return match[1];
}

const uri = inject('mongoUri');
afterAll(async () => {
  const client = await MongoClient.connect(uri);
  await client.db('quickstart').dropDatabase();
  await client.close();
});

it('runs the README quickstart as written and prints the latest shape', async () => {
  const client = await MongoClient.connect(uri);
  await client.db('quickstart').dropDatabase();
  const tmp = join(root, 'test', '.tmp');
  mkdirSync(tmp, { recursive: true });
  const file = join(tmp, 'readme-quickstart.ts');
  writeFileSync(file, codeBlockAfter('## Quickstart'));
  const printed: unknown[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((value: unknown) => void printed.push(value));
  vi.stubEnv('MONGODB_URI', uri);
  try {
    await import(/* @vite-ignore */ file);
  } finally {
    log.mockRestore();
    vi.unstubAllEnvs();
  }
  expect(printed).toEqual([{ _id: 'ada', display_name: 'Ada Lovelace', email: null }]);
  const stored = await client.db('quickstart').collection('users').findOne({});
  expect(stored).toEqual({ _id: 'ada', display_name: 'Ada Lovelace', email: 'ada@example.org', schemaVersion: 2 });
  await client.close();
});
