import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../test/support/database.js';
import { finished, run, start, waitForLine } from '../support/process.js';
import { createApp, type App } from './app.js';
import { seed, seedUsers } from './seed.js';

const database = useTestDatabase('examples_app');

describe('examples/app, run as its README says', () => {
  it('seeds, serves every version in the latest shape, and stores what it read at v3 on SIGINT', async () => {
    const env = { MONGODB_URI: database.uri, MOLT_DB: database.db.databaseName, PORT: '0' };
    const seeded = await run(['examples/app/seed.ts'], env);
    expect(seeded.code).toBe(0);
    expect(seeded.stdout).toContain(`seeded ${database.db.databaseName}: 4 users`);

    const server = start(['examples/app/server.ts'], env);
    const done = finished(server);
    const [, base] = await waitForLine(server, /listening on (http:\/\/\S+)/);
    const ada = (await (await fetch(`${base}/users/ada`)).json()) as unknown;
    expect(ada).toEqual({ _id: 'ada', name: { given: 'Ada', family: 'Lovelace' }, email: null, created_at: '2023-01-15T09:30:00.000Z' });
    const put = await fetch(`${base}/users/plato/email`, { method: 'PUT', body: JSON.stringify({ email: 'plato@example.org' }) });
    expect(await put.json()).toMatchObject({ _id: 'plato', name: { given: 'Plato', family: null }, email: 'plato@example.org' });
    const orders = (await (await fetch(`${base}/users/ada/orders`)).json()) as { status: string; priceCents: number }[];
    expect(orders.map(({ status, priceCents }) => ({ status, priceCents }))).toEqual([
      { status: 'shipped', priceCents: 1250 },
      { status: 'paid', priceCents: 300 },
    ]);
    server.kill('SIGINT');
    const exit = await done;
    expect(exit.stdout).toContain('stopped');
    expect(exit.code).toBe(0);

    const stored = await database.db.collection('users').find({}, { sort: { _id: 1 } }).toArray();
    expect(stored.map((doc) => [doc._id, doc.schemaVersion])).toEqual([
      ['ada', 3], // read, written back
      ['alan', 3],
      ['grace', 2], // never read
      ['plato', 3], // updated
    ]);
  });
});

describe('examples/app handlers', () => {
  let app: App;
  let base: string;

  beforeAll(async () => {
    await seed(database.uri, database.db.databaseName);
    app = createApp(database.db);
    await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
  });

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, body: await response.json() };
  }

  it('lists users of every stored version in one shape', async () => {
    const { status, body } = await call('GET', '/users');
    expect(status).toBe(200);
    expect(body).toHaveLength(seedUsers.length);
    for (const user of body as Record<string, unknown>[]) {
      expect(Object.keys(user).sort()).toEqual(['_id', 'created_at', 'email', 'name']);
    }
  });

  it('creates a user at the latest version', async () => {
    const { status } = await call('POST', '/users', { _id: 'edsger', name: 'Edsger Wybe Dijkstra', email: 'ewd@example.org' });
    expect(status).toBe(201);
    const stored = await database.db.collection('users').findOne({ _id: 'edsger' as never });
    expect(stored).toMatchObject({ name: { given: 'Edsger', family: 'Wybe Dijkstra' }, schemaVersion: 3 });
  });

  it('answers 400 with zod issues for an invalid user or email, and writes nothing', async () => {
    const created = await call('POST', '/users', { _id: 'nobody', name: '' });
    expect(created).toEqual({ status: 400, body: { error: 'invalid user', issues: [{ path: 'name.given', message: expect.any(String) as string }] } });
    expect(await database.db.collection('users').countDocuments({ _id: 'nobody' as never })).toBe(0);
    const email = await call('PUT', '/users/ada/email', { email: 'not an email' });
    expect(email.status).toBe(400);
    expect(email.body).toMatchObject({ issues: [{ path: 'email' }] });
  });

  it('answers 404 for unknown users, orders and routes', async () => {
    expect((await call('GET', '/users/nobody')).status).toBe(404);
    expect((await call('PUT', '/users/nobody/email', { email: null })).status).toBe(404);
    expect((await call('GET', '/orders/nothing')).status).toBe(404);
    expect((await call('DELETE', '/users/ada')).status).toBe(404);
  });

  it('serves an order stored at v1 with cents, the split status and lines', async () => {
    const { body } = await call('GET', '/orders/o-1');
    expect(body).toEqual({ _id: 'o-1', customer_id: 'ada', status: 'shipped', priceCents: 1250, lines: [{ sku: 'tea', quantity: 2, unitPriceCents: 625, totalCents: 1250 }] });
  });

  it('answers 503 for a document written by a newer release', async () => {
    await database.db.collection('users').insertOne({ _id: 'future' as never, whatever: true, schemaVersion: 4 });
    expect(await call('GET', '/users/future')).toMatchObject({ status: 503 });
  });

  it('reports what the wrapper did on its own', async () => {
    const { body } = await call('GET', '/stats');
    expect(body).toMatchObject({ users: { migratedOnRead: expect.any(Number) as number, lostRaces: 0 } });
  });
});
