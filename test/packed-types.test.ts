import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { ROOT } from './fixtures/run-molt.js';
import { cannotPack, installPacked, pack, packageJson, packageName } from './support/packed-package.js';
import { readmeBlockFiles } from './support/readme-blocks.js';

/**
 * The type tests, the README's blocks, the shipped schemas and the examples, compiled as a user
 * compiles them: against the packed package installed in a project of its own (not the sources
 * through tsconfig paths), under strict, exactOptionalPropertyTypes and noUncheckedIndexedAccess,
 * with the package's own declarations checked too. A probe that must not compile sits under a
 * `// @ts-expect-error` line: if it compiles, TypeScript reports the unused directive and this fails.
 */

/**
 * A new user's probes, as they stand in test/types: five programs that compiled though they store
 * or run wrongly, and two everyday forms that did not compile. [file, line, must compile]
 */
const SETTLED: readonly (readonly [file: string, line: string, compiles: boolean])[] = [
  ['exact-steps.test-d.ts', 'void base.version(2, V2, (v1) => ({ ...v1, name: v1.full_name, phone: null }));', false],
  ['exact-steps.test-d.ts', 'void base.version(2, V2, ({ full_name, ...rest }) => ({ ...rest, name: full_name, phone: null, typo_field: 1 }));', false],
  ['collection.test-d.ts', "void customers.updateOne({ _id: 'a' }, { $unset: { display_name: '' } });", false],
  ['collection.test-d.ts', "void nullable.updateMany({}, { $rename: { name: 'fullName' } });", false],
  ['collection.test-d.ts', 'void customers.find().map((u) => u.display_name).project({ display_name: 1 });', false],
  ['generic.test-d.ts', 'function repo<S extends AnyVersionedSchema>(name: string, s: S): VersionedCollection<DocumentOf<S>> {', true],
  ['generic.test-d.ts', 'function exactRepo<S extends AnyVersionedSchema>(name: string, s: S): CollectionOf<S> {', true],
  ['collection.test-d.ts', 'expectTypeOf(await customers.find({}).project<{ display_name: string }>({ display_name: 1 }).toArray())', true],
];

/** What a user's project holds besides the probes: the shipped schemas and the examples (their tests and test helpers aside). */
function userFiles(dir: string): { path: string; code: string }[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .map((file) => posix.join(dir, file.split('\\').join('/')))
    .filter((path) => path.endsWith('.ts') && !path.endsWith('.test.ts'))
    .map((path) => ({ path, code: readFileSync(join(ROOT, path), 'utf8') }))
    .filter(({ code }) => !/from 'vitest'/.test(code));
}

const ENTRY_POINTS: Readonly<Record<string, string>> = { 'src/index.ts': 'mongo-molt', 'src/cli/index.ts': 'mongo-molt/cli' };

/**
 * Copies files into the project at their repository paths, with the files they import: an import
 * of the sources' entry points becomes an import of the package; any other import of the sources
 * is refused (the package ships no such entry point). Returns the packages the files import.
 */
function copyInto(project: string, files: readonly { path: string; code: string }[]): Set<string> {
  const packages = new Set<string>();
  const given = new Set(files.map((file) => file.path));
  const queue = [...files];
  const copied = new Set<string>();
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (copied.has(file.path)) continue;
    copied.add(file.path);
    const { path } = file;
    const code = file.code.replace(/(\bfrom\s+|\bimport\s*\(\s*|^import\s+)'([^']+)'/gm, (whole, prefix: string, specifier: string) => {
      if (specifier.startsWith('node:')) return whole;
      if (!specifier.startsWith('.')) {
        packages.add(packageName(specifier));
        return whole;
      }
      const target = posix.normalize(posix.join(posix.dirname(path), specifier)).replace(/\.js$/, '.ts');
      const entry = ENTRY_POINTS[target];
      if (entry !== undefined) return `${prefix}'${entry}'`;
      if (target.startsWith('src/')) throw new Error(`${path} imports ${specifier}: the package ships no such entry point; import from 'mongo-molt'`);
      if (!given.has(target)) queue.push({ path: target, code: readFileSync(join(ROOT, target), 'utf8') });
      return whole;
    });
    mkdirSync(dirname(join(project, path)), { recursive: true });
    writeFileSync(join(project, path), code);
  }
  return packages;
}

/** A user's strictest settings; the package's own declarations are checked too (no skipLibCheck). */
const STRICT = { strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: false, noEmit: true, types: ['node'], target: 'ES2023', lib: ['ES2023'] };

const NODE = { module: 'NodeNext', moduleResolution: 'NodeNext' } as const;
const BUNDLER = { module: 'ESNext', moduleResolution: 'Bundler' } as const;

function compilerOptions(project: string, resolution: typeof NODE | typeof BUNDLER): ts.CompilerOptions {
  const { options, errors } = ts.convertCompilerOptionsFromJson({ ...STRICT, ...resolution }, project);
  expect(errors).toEqual([]);
  return options;
}

/** Compiles `files` in `project` (Node's resolution) and returns the diagnostics, as `file:line: message`. */
function compile(project: string, files: readonly string[]): string[] {
  const program = ts.createProgram(files, compilerOptions(project, NODE));
  // The package is the packed one: its declarations, never the sources.
  const loaded = program.getSourceFiles().map((file) => file.fileName);
  expect(loaded).toContain(join(project, 'node_modules', 'mongo-molt', 'dist', 'index.d.ts').split('\\').join('/'));
  expect(loaded.filter((file) => file.startsWith(join(ROOT, 'src').split('\\').join('/')))).toEqual([]);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file === undefined ? '' : `${relative(project, diagnostic.file.fileName)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}: `;
    return `${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  });
}

/** The declaration file each resolution picks for `specifier`, imported from a file of the project. */
function resolvedBy(project: string, specifier: string): Record<string, string | undefined> {
  const importer = join(project, 'app.ts');
  return Object.fromEntries(
    [NODE, BUNDLER].map((resolution) => {
      const { resolvedModule } = ts.resolveModuleName(specifier, importer, compilerOptions(project, resolution), ts.sys, undefined, undefined, ts.ModuleKind.ESNext);
      return [resolution.moduleResolution, resolvedModule?.resolvedFileName];
    }),
  );
}

/** The packages the package's declarations import (its own name aside), read as TypeScript reads imports. */
function importedByDeclarations(packageDir: string, name: string): string[] {
  const imported = readdirSync(packageDir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.d.ts'))
    .flatMap((file) => ts.preProcessFile(readFileSync(join(packageDir, file), 'utf8'), true, true).importedFiles.map(({ fileName }) => fileName))
    .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:'))
    .map(packageName);
  return [...new Set(imported)].filter((imported) => imported !== name).sort();
}

const skip = cannotPack();
if (skip !== undefined) console.warn(`packed-types.test.ts skipped: ${skip}`);

it('the programs issue 21 settled stay in the type tests, on the side of @ts-expect-error they belong', () => {
  for (const [file, line, compiles] of SETTLED) {
    const lines = readFileSync(join(ROOT, 'test', 'types', file), 'utf8').split('\n').map((text) => text.trim());
    const at = lines.findIndex((text) => text.includes(line));
    expect(at, `test/types/${file} should hold: ${line}`).toBeGreaterThan(0);
    expect(lines[at - 1]!.startsWith('// @ts-expect-error'), `${line}\nmust ${compiles ? '' : 'not '}compile in test/types/${file}`).toBe(!compiles);
  }
});

it.skipIf(skip !== undefined)('the type tests, README blocks, schemas and examples compile against the packed package as they do against the sources', () => {
  const probes = readdirSync(join(ROOT, 'test', 'types')).filter((file) => file.endsWith('.test-d.ts'));

  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'molt-packed-')));
  try {
    const tarball = pack(dir);
    const project = join(dir, 'project');
    const probeFiles = probes.map((file) => ({ path: `test/types/${file}`, code: readFileSync(join(ROOT, 'test', 'types', file), 'utf8') }));
    const everyday = [...userFiles('schemas'), ...userFiles('examples'), ...readmeBlockFiles()];
    const imported = copyInto(project, [...probeFiles, ...everyday]);
    const manifest = packageJson();
    imported.delete(manifest.name);
    const declared = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})];
    installPacked(project, tarball, [...declared, ...imported, '@types/node']);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // A user's install brings only what the package declares: its declarations may import nothing else.
    const used = importedByDeclarations(join(project, 'node_modules', manifest.name), manifest.name);
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((name) => !declared.includes(name))).toEqual([]);

    expect(compile(project, [...probeFiles, ...everyday].map(({ path }) => join(project, path)))).toEqual([]);
    // A user who installs no optional peer dependency (no @opentelemetry/api): the declarations
    // the entry points reach must still compile, with skipLibCheck off.
    const bare = join(dir, 'bare');
    const optional = Object.keys(manifest.peerDependenciesMeta ?? {}).filter((name) => manifest.peerDependenciesMeta?.[name]?.optional === true);
    expect(optional).toContain('@opentelemetry/api');
    installPacked(bare, tarball, [...declared.filter((name) => !optional.includes(name)), '@types/node']);
    writeFileSync(join(bare, 'package.json'), JSON.stringify({ name: 'bare-app', private: true, type: 'module' }));
    writeFileSync(join(bare, 'app.ts'), "import * as molt from 'mongo-molt';\nimport * as cli from 'mongo-molt/cli';\nexport const used: unknown[] = [molt.versioned, molt.sweep, cli];\n");
    expect(compile(bare, [join(bare, 'app.ts')])).toEqual([]);

    // A bundler's resolution picks the same declarations through the same `exports`: what compiled above holds there too.
    for (const [specifier, file] of [['mongo-molt', 'dist/index.d.ts'], ['mongo-molt/cli', 'dist/cli/index.d.ts']] as const) {
      const expected = join(project, 'node_modules', 'mongo-molt', file).split('\\').join('/');
      expect(resolvedBy(project, specifier)).toEqual({ NodeNext: expected, Bundler: expected });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
