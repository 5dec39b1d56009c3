import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The common mistakes, one per line, each with words its compile error must contain: the message
 * names the key and says what is wrong, not only that two types differ.
 */
const MISTAKES: readonly (readonly [code: string, expected: readonly string[]])[] = [
  ['void base.version(2, V2, (v1) => ({ ...v1, name: v1.full_name, phone: null }));', ['"full_name"', 'version 2 does not have', 'a spread keeps the old fields']],
  ["void base.version(2, V2, ({ full_name, ...rest }) => ({ ...rest, name: full_name, phone: null, typo_field: 1 }));", ['"typo_field"', 'version 2 does not have']],
  // TypeScript's own excess-property message: it names the key.
  ["void users.find({}).project({ full_name: 1 });", ["'full_name' does not exist"]],
  ["void users.find({}).project<{ name: number }>({ name: 1 });", ['name: not a field of the latest shape, or of another type', 'without a type argument']],
  ['void users.find().map((u) => u.name).project({ name: 1 });', ['project() after map()', 'project() first, then map()']],
  ["void users.find({ full_name: 'Ada' });", ["'full_name' does not exist"]],
  ["void users.updateOne({ _id: 'a' }, { $set: { full_name: 'Ada' } });", ["'full_name' does not exist"]],
  ["void users.updateOne({ _id: 'a' }, { $unset: { name: '' } });", ["'name' does not exist"]],
];

const PRELUDE = `import { z } from 'zod';
import type { Collection, Document } from 'mongodb';
import { defineSchema, versioned } from '../../../src/index.js';
const V1 = z.object({ _id: z.string(), full_name: z.string() });
const V2 = z.object({ _id: z.string(), name: z.string(), phone: z.string().nullable() });
const base = defineSchema('user').version(1, V1);
declare const raw: Collection<Document>;
const users = versioned(raw, base.version(2, V2, ({ full_name, ...rest }) => ({ ...rest, name: full_name, phone: null })));
`;

it('the compile errors of the common mistakes name the key and say what to do', () => {
  const dir = join(root, 'test', '.tmp', 'type-messages');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'mistakes.ts');
  const firstLine = PRELUDE.split('\n').length;
  writeFileSync(file, `${PRELUDE}${MISTAKES.map(([code]) => code).join('\n')}\nexport {};\n`);
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (parsed === undefined) throw new Error('tsconfig.json could not be read');
  const program = ts.createProgram([file], { ...parsed.options, noEmit: true });
  const byLine = new Map<number, string>();
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    if (diagnostic.file?.fileName !== file) continue;
    const line = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1;
    byLine.set(line, `${byLine.get(line) ?? ''}${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}\n`);
  }
  rmSync(dir, { recursive: true, force: true });
  // Only the mistakes fail: the prelude compiles.
  expect([...byLine.keys()].filter((line) => line < firstLine)).toEqual([]);
  MISTAKES.forEach(([code, expected], index) => {
    const message = byLine.get(firstLine + index) ?? '';
    for (const words of expected) expect(message, `${code}\n${message}`).toContain(words);
  });
}, 120_000);
