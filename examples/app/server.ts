/**
 * Runs the example service: `npx tsx examples/app/server.ts`.
 * Environment: MONGODB_URI (default mongodb://127.0.0.1:27017), MOLT_DB (default molt_example),
 * PORT (default 3000; 0 picks a free port), LOG_LEVEL (default warn).
 */
import type { AddressInfo } from 'node:net';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { createApp } from './app.js';

const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017';
const client = await MongoClient.connect(uri);
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
const app = createApp(client.db(process.env.MOLT_DB ?? 'molt_example'), { logger });

app.server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = app.server.address() as AddressInfo;
  console.log(`listening on http://127.0.0.1:${port}`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // Queued write-backs are stored before the connection closes.
    void app.close().finally(() => client.close()).then(() => console.log('stopped'));
  });
}
