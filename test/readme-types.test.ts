import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { ROOT } from './fixtures/run-molt.js';
import { README_BLOCKS_DIR, readmeBlockFiles } from './support/readme-blocks.js';

it('compiles every TypeScript block of the README under strict and exactOptionalPropertyTypes', () => {
  const dir = join(ROOT, README_BLOCKS_DIR);
  rmSync(dir, { recursive: true, force: true });
  const written = readmeBlockFiles().map(({ path, code }) => {
    const file = join(ROOT, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, code);
    return file;
  });
  const files = written.filter((file) => file.includes('block-line-'));
  expect(files.length).toBeGreaterThanOrEqual(5);

  const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (parsed === undefined) throw new Error('tsconfig.json could not be read');
  expect(parsed.options.strict).toBe(true);
  expect(parsed.options.exactOptionalPropertyTypes).toBe(true);
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((diagnostic) => diagnostic.file !== undefined && files.includes(diagnostic.file.fileName));
  const messages = diagnostics.map((diagnostic) => {
    const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    return `${diagnostic.file!.fileName.slice(dir.length + 1)}:${line + 1}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  });
  rmSync(dir, { recursive: true, force: true });
  expect(messages).toEqual([]);
}, 120_000);
