import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * What a README block may use without defining it: the names the surrounding prose assumes
 * (a `db`, the version schemas, the upcasters). A block that defines a name itself gets no stand-in.
 */
const STAND_INS: readonly (readonly [name: string, declaration: string])[] = [
  ['z', "import { z } from 'zod';"],
  ['defineSchema', "import { defineSchema } from 'mongo-molt';"],
  ['versioned', "import { versioned } from 'mongo-molt';"],
  ['Infer', "import type { Infer } from 'mongo-molt';"],
  ['db', "declare const db: import('mongodb').Db;"],
  ['raw', 'declare const raw: unknown;'],
  ['logger', "declare const logger: import('pino').Logger;"],
  ['UserV1', "import { UserV1 } from '../../../test/fixtures/schemas.js';"],
  ['UserV2', "import { UserV2 } from '../../../test/fixtures/schemas.js';"],
  ['UserV3', "import { UserV3 } from '../../../test/fixtures/schemas.js';"],
  ['toV2', "declare function toV2(v1: import('zod').output<typeof UserV1>): import('zod').input<typeof UserV2>;"],
  ['toV3', "declare function toV3(v2: import('zod').output<typeof UserV2>): import('zod').input<typeof UserV3>;"],
  ['toV2Again', "declare function toV2Again(v3: import('zod').output<typeof UserV3>): import('zod').input<typeof UserV2>;"],
  ['User', "import { User } from '../../../test/fixtures/schemas.js';"],
];

/** Every ```ts block of the README, with the line it starts on. */
function tsBlocks(): { line: number; code: string }[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((match) => ({
    line: readme.slice(0, match.index).split('\n').length,
    code: match[1] as string,
  }));
}

function definesOrImports(code: string, name: string): boolean {
  return new RegExp(`\\b(const|let|function|type|class|interface)\\s+${name}\\b|import\\s[^;]*\\b${name}\\b[^;]*from`).test(code);
}

function uses(code: string, name: string): boolean {
  return new RegExp(`(^|[^.\\w'"])${name}\\b`).test(code);
}

it('compiles every TypeScript block of the README under strict and exactOptionalPropertyTypes', () => {
  const dir = join(root, 'test', '.tmp', 'readme-types');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'schemas'), { recursive: true });
  // The config block imports its schema as an app would: from ./schemas/users.js.
  writeFileSync(join(dir, 'schemas', 'users.ts'), "export * from '../../../../schemas/users.js';\n");
  const blocks = tsBlocks();
  expect(blocks.length).toBeGreaterThanOrEqual(5);
  const files = blocks.map(({ line, code }) => {
    const prelude = STAND_INS.filter(([name]) => uses(code, name) && !definesOrImports(code, name)).map(([, declaration]) => declaration);
    const file = join(dir, `block-line-${line}.ts`);
    writeFileSync(file, `${prelude.join('\n')}\nexport {};\n${code}`);
    return file;
  });

  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
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
