/**
 * A small users-and-orders HTTP service on node:http. Every handler goes through `versioned(...)`:
 * documents stored at v1, v2 or v3 are all served in the latest shape, and every write stores the
 * latest version. Nothing here knows which version a document was stored at.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { MoltError, NewerVersionError, ValidationError, versioned, type VersionedCollection } from 'mongo-molt';
import { Order, type OrderDoc } from '../../schemas/orders.js';
import { splitName, User, UserV3, type UserDoc } from '../../schemas/users.js';

/** The service: an HTTP server plus what it needs to shut down cleanly. */
export interface App {
  readonly server: Server;
  readonly users: VersionedCollection<UserDoc>;
  readonly orders: VersionedCollection<OrderDoc>;
  /** Stops accepting requests and stores the write-backs still queued. */
  close(): Promise<void>;
}

/** A response: status and JSON body. */
interface Reply {
  readonly status: number;
  readonly body: unknown;
}

/** Builds the service on a database; `listen` is the caller's. */
export function createApp(db: Db, options: { logger?: Logger } = {}): App {
  const logger = options.logger ? { logger: options.logger } : {};
  // writeBackOnRead: a user read once is stored at the latest version, so the sweeper has less to do.
  const users = versioned(db.collection('users'), User, { writeBackOnRead: true, ...logger });
  const orders = versioned(db.collection('orders'), Order, { writeBackOnRead: true, ...logger });

  async function route(method: string, path: string[], body: () => Promise<unknown>): Promise<Reply> {
    const [resource, id, field] = path;
    if (resource === 'users' && method === 'GET' && id === undefined) {
      // Filters on fields every version shares are safe; a filter on `name.family` would miss
      // users not yet migrated (see the README's limits).
      const list = await users.find({}, { sort: { _id: 1 }, limit: 20 }).toArray();
      return { status: 200, body: list };
    }
    if (resource === 'users' && method === 'GET' && id !== undefined && field === undefined) {
      const user = await users.findOne({ _id: id });
      return user ? { status: 200, body: user } : notFound('user', id);
    }
    if (resource === 'users' && method === 'POST' && id === undefined) {
      const input = (await body()) as { _id?: unknown; name?: unknown; email?: unknown };
      const doc = {
        _id: String(input._id ?? ''),
        name: typeof input.name === 'string' ? splitName(input.name) : input.name,
        email: input.email ?? null,
        created_at: new Date(),
      } as UserDoc;
      try {
        await users.insertOne(doc);
      } catch (error) {
        if (error instanceof ValidationError) return invalid(error.issues);
        throw error;
      }
      return { status: 201, body: doc };
    }
    if (resource === 'users' && method === 'PUT' && id !== undefined && field === 'email') {
      // Update operators run on the server, unchecked by zod: check the value here.
      const email = UserV3.shape.email.safeParse((await body() as { email?: unknown }).email ?? null);
      if (!email.success) return invalid(email.error.issues.map((issue) => ({ ...issue, path: ['email', ...issue.path] })));
      // A v1 user has no email field at all: the wrapper migrates the document first, so `$set`
      // never runs on an old shape, and the result is validated as the latest version.
      const updated = await users.findOneAndUpdate({ _id: id }, { $set: { email: email.data } }, { returnDocument: 'after' });
      return updated ? { status: 200, body: updated } : notFound('user', id);
    }
    if (resource === 'users' && id !== undefined && field === 'orders' && method === 'GET') {
      const list = await orders.find({ customer_id: id }, { sort: { _id: 1 } }).toArray();
      return { status: 200, body: list };
    }
    if (resource === 'orders' && method === 'GET' && id !== undefined && field === undefined) {
      const order = await orders.findOne({ _id: id });
      return order ? { status: 200, body: order } : notFound('order', id);
    }
    if (resource === 'stats' && method === 'GET') {
      return { status: 200, body: { users: users.stats, orders: orders.stats } };
    }
    return { status: 404, body: { error: `no route ${method} /${path.join('/')}` } };
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    route(request.method ?? 'GET', path, () => readJson(request))
      .catch((error: unknown) => failure(error, options.logger))
      .then((reply) => send(response, reply));
  });

  return {
    server,
    users,
    orders,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([users.flush(), orders.flush()]);
    },
  };
}

function notFound(kind: string, id: string): Reply {
  return { status: 404, body: { error: `no ${kind} with _id ${JSON.stringify(id)}` } };
}

function invalid(issues: readonly { path: readonly PropertyKey[]; message: string }[]): Reply {
  return { status: 400, body: { error: 'invalid user', issues: issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })) } };
}

/** Maps what is left to HTTP: a stored document the code cannot read is the service's fault, not the client's. */
function failure(error: unknown, logger: Logger | undefined): Reply {
  if (error instanceof SyntaxError) return { status: 400, body: { error: `the body is not JSON: ${error.message}` } };
  if (error instanceof NewerVersionError) return { status: 503, body: { error: 'this document was written by a newer release; retry shortly' } };
  logger?.error({ err: error }, 'request failed');
  if (error instanceof MoltError) return { status: 500, body: { error: error.name } };
  return { status: 500, body: { error: 'internal error' } };
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
}

function send(response: ServerResponse, reply: Reply): void {
  const text = `${JSON.stringify(reply.body, null, 2)}\n`;
  response.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
