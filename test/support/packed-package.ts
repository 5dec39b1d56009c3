import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from '../fixtures/run-molt.js';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface PackageJson {
  readonly name: string;
  readonly files: readonly string[];
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
}

/** The repository's package.json. */
export function packageJson(): PackageJson {
  return JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
}

/** Why this machine cannot pack and unpack the package (npm or tar missing), or undefined when it can. */
export function cannotPack(): string | undefined {
  for (const command of [NPM, 'tar']) {
    const result = spawnSync(command, ['--version'], { stdio: 'ignore' });
    if (result.error !== undefined || result.status !== 0) return `\`${command} --version\` failed (${result.error?.message ?? `exit code ${result.status}`}): packing needs npm and tar`;
  }
  return undefined;
}

/**
 * Copies the package's files (package.json's `files`, its build config) into `dir/stage` and builds
 * them there, as a fresh clone's `npm run build` would: the repository's own `dist/`, which other
 * tests build at the same time and `tsc` never cleans (a file moved in `src/` leaves its old
 * output behind), is neither read nor written. Returns the stage.
 */
export function stagePackage(dir: string): string {
  const stage = join(dir, 'stage');
  mkdirSync(stage, { recursive: true });
  const manifest = packageJson();
  for (const entry of ['package.json', ...manifest.files.filter((file) => file !== 'dist'), 'LICENSE', 'tsconfig.json', 'tsconfig.build.json']) {
    if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(stage, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'), 'junction');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: stage, stdio: 'pipe' });
  return stage;
}

/** What `npm pack` would put in the tarball of the staged package (paths relative to the package). */
export function packedFiles(stage: string): string[] {
  const [packed] = JSON.parse(execFileSync(NPM, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: stage, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as [{ files: { path: string }[] }];
  return packed.files.map((file) => file.path);
}

/** Packs the package as `npm publish` would (staged and built by {@link stagePackage}) and returns the tarball's path. */
export function pack(dir: string): string {
  const stage = stagePackage(dir);
  const [packed] = JSON.parse(execFileSync(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: stage, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as [{ filename: string }];
  return join(dir, packed.filename);
}

/** The package a bare import specifier names: `@scope/name` or `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/**
 * Makes `project` a project that installed the tarball: the package unpacked into
 * `node_modules/<name>`, and each of `dependencies` linked from the repository's own install (no
 * network). Only what is linked resolves: a declaration file of the package that imports a
 * package it does not declare fails to compile.
 */
export function installPacked(project: string, tarball: string, dependencies: Iterable<string>): void {
  const modules = join(project, 'node_modules');
  mkdirSync(modules, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', project], { stdio: 'pipe' });
  renameSync(join(project, 'package'), join(modules, packageJson().name));
  for (const name of new Set(dependencies)) {
    const installed = join(ROOT, 'node_modules', name);
    if (!existsSync(installed)) throw new Error(`${name} is not installed in ${join(ROOT, 'node_modules')}: run npm ci`);
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(realpathSync(installed), join(modules, name), 'junction');
  }
}
