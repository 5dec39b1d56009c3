import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../fixtures/run-molt.js';

/** Where the README's blocks are written, relative to the repository: the stand-ins' imports count from here. */
export const README_BLOCKS_DIR = 'test/.tmp/readme-types';

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
export function tsBlocks(): { line: number; code: string }[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
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

/**
 * The README's blocks as files to compile, paths relative to the repository (under
 * README_BLOCKS_DIR): each block with the stand-ins it uses, and the `./schemas/users.js` the
 * config block imports as an app would.
 */
export function readmeBlockFiles(): { path: string; code: string }[] {
  const blocks = tsBlocks().map(({ line, code }) => {
    const prelude = STAND_INS.filter(([name]) => uses(code, name) && !definesOrImports(code, name)).map(([, declaration]) => declaration);
    return { path: `${README_BLOCKS_DIR}/block-line-${line}.ts`, code: `${prelude.join('\n')}\nexport {};\n${code}` };
  });
  return [...blocks, { path: `${README_BLOCKS_DIR}/schemas/users.ts`, code: "export * from '../../../../schemas/users.js';\n" }];
}
