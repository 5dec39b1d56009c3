/**
 * Finds a real MongoDB-wire server for the suite (see `resolveServer`: MONGODB_URI, then
 * mongodb-memory-server, then `npm run db:start`'s server, then the project's own mongo-java-server,
 * started here and stopped at the end) and tells the test files what it can do.
 */
import type { TestProject } from 'vitest/node';
import { resolveServer } from '../../scripts/servers.js';
import { detectServer, type ServerFeatures } from './detect-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    serverFeatures: ServerFeatures;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { uri, source, stop } = await resolveServer({ log: (line) => process.stderr.write(`[mongo-molt tests] ${line}\n`) });
  const features = await detectServer(uri);
  process.stderr.write(`[mongo-molt tests] server: ${features.kind} via ${source}` +
    (features.atomicUpdates ? '' : ' (updates are not atomic here: race tests are skipped)') + '\n');
  project.provide('mongoUri', uri);
  project.provide('serverFeatures', features);
  return stop;
}
