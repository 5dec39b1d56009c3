import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mixedUsers, type RawUser } from './fixtures/schemas.js';
import { FIXTURE_CONFIG, logLines, ROOT, runMolt } from './fixtures/run-molt.js';
import { useTestDatabase } from './support/database.js';

const { db, uri } = useTestDatabase('otel_cli');
const env = { MONGODB_URI: uri, MOLT_TEST_DB: db.databaseName };

/** An OTLP/HTTP (JSON) receiver: what the SDK exports, by path. */
const received = new Map<string, string[]>();
const receiver = createServer((request: IncomingMessage, response) => {
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk.toString()));
  request.on('end', () => {
    received.set(request.url ?? '', [...(received.get(request.url ?? '') ?? []), body]);
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

describe('molt sweep --otel', () => {
  it('starts the SDK from OTEL_* and exports the sweep spans and metrics (OTLP over HTTP)', async () => {
    await db.collection<RawUser>('users').insertMany(mixedUsers(30));
    await db.collection<RawUser>('accounts').insertMany(mixedUsers(3, 'a'));
    const result = await runMolt(['sweep', '--otel', '--json', '--config', FIXTURE_CONFIG], {
      env: { ...env, OTEL_SERVICE_NAME: 'molt-test', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_EXPORTER: 'otlp', OTEL_METRICS_EXPORTER: 'otlp', OTEL_METRIC_EXPORT_INTERVAL: '600000' },
    });
    expect(result.code).toBe(0);
    expect(logLines(result.stderr).some((line) => String(line.msg).startsWith('OpenTelemetry SDK started'))).toBe(true);
    const traces = (received.get('/v1/traces') ?? []).join('\n');
    const metrics = (received.get('/v1/metrics') ?? []).join('\n');
    expect(traces).toContain('"molt.sweep"');
    expect(traces).toContain('"molt.sweep.batch"');
    expect(traces).toContain('molt-test');
    expect(metrics).toContain('"molt.sweep.migrated"');
    expect(metrics).toContain('"molt.sweep.batch.duration"');
  }, 60_000);

  it('says so, and sweeps anyway, where the SDK is not installed', async () => {
    await db.collection<RawUser>('users').deleteMany({});
    await db.collection<RawUser>('users').insertMany(mixedUsers(5, 'x'));
    const result = await runMolt(['sweep', '--otel', '--config', FIXTURE_CONFIG], {
      env: { ...env, NODE_OPTIONS: `--require ${join(ROOT, 'test', 'fixtures', 'hide-otel.cjs')}` },
    });
    expect(result.code).toBe(0);
    const warning = logLines(result.stderr).find((line) => String(line.msg).startsWith('--otel:'));
    expect(warning?.msg).toContain('@opentelemetry/api is not installed, so nothing is exported');
  }, 60_000);
});
