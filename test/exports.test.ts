import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as molt from 'mongo-molt';

const ERROR_CLASSES = ['SchemaDefinitionError', 'InvalidOptionError', 'InvalidVersionError', 'NewerVersionError', 'UpcastError', 'ValidationError', 'ConfigError', 'QueryTranslationError', 'PermissionDeniedError'] as const;

describe('the package entry point', () => {
  it.each(ERROR_CLASSES)('exports %s as a MoltError with a fixed name', (name) => {
    const ErrorClass = molt[name] as unknown as abstract new (...args: never[]) => Error;
    expect(typeof ErrorClass).toBe('function');
    expect(ErrorClass.prototype).toBeInstanceOf(molt.MoltError);
    expect(ErrorClass.prototype).toBeInstanceOf(Error);
  });

  it('gives each error its name, a cause and structured context', () => {
    const cause = new Error('root');
    const errors = [
      new molt.SchemaDefinitionError('s', 'bad'),
      new molt.InvalidOptionError('batchSize', 'bad'),
      new molt.InvalidVersionError({ schemaName: 's', _id: 1, version: 'x', versionField: 'v', reason: 'bad' }),
      new molt.NewerVersionError({ schemaName: 's', _id: 1, version: 4, latestVersion: 3 }),
      new molt.UpcastError({ schemaName: 's', _id: 1, fromVersion: 1, toVersion: 2, reason: 'bad' }, { cause }),
      new molt.ValidationError({ schemaName: 's', _id: 1, version: 2, issues: [], action: 'Fix it.' }, { cause }),
      new molt.ConfigError('bad config', { path: 'molt.config.ts' }),
      new molt.QueryTranslationError({ schemaName: 's', field: 'a', operator: '$gt', versions: [1], reason: 'bad' }),
      new molt.PermissionDeniedError({ action: 'insert', namespace: 'app.users', code: 13, required: 'read/write on "app.users"' }, { cause }),
    ];
    expect(errors.map((error) => error.name)).toEqual([...ERROR_CLASSES]);
    for (const error of errors) expect(error).toBeInstanceOf(molt.MoltError);
    expect(errors[4]?.cause).toBe(cause);
    for (const error of errors.slice(2, 6)) expect(error).toBeInstanceOf(molt.DocumentError);
    expect(errors[0]).not.toBeInstanceOf(molt.DocumentError);
    expect(errors[4]).toMatchObject({ _id: 1, fromVersion: 1, toVersion: 2, schemaName: 's' });
    expect(errors[8]).toMatchObject({ action: 'insert', namespace: 'app.users', code: 13, unauthenticated: false, cause });
  });

  it('exports the public API and no internal helpers', () => {
    for (const name of ['defineSchema', 'versioned', 'VersionedCollection', 'VersionedCursor', 'ValidateMode', 'OnNewerVersion', 'MoltError']) {
      expect(molt).toHaveProperty(name);
    }
    expect(molt).not.toHaveProperty('describeId');
    expect(molt).not.toHaveProperty('migrateDocument');
    expect(Object.isFrozen(molt.ValidateMode)).toBe(true);
  });

  it('never loads the CLI: no module reachable from src/index.ts lives in src/cli', () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
        visit(resolve(dirname(file), (match[1] as string).replace(/\.js$/, '.ts')));
      }
    };
    visit(join(root, 'index.ts'));
    expect(seen.size).toBeGreaterThan(10);
    expect([...seen].filter((file) => file.includes(`${join(root, 'cli')}`))).toEqual([]);
  });
});
