/**
 * `npm run db:start [documentdb|java|ferretdb…]`: provisions (first time) and starts, in the
 * background, the named test servers (default: the DocumentDB-backed server and mongo-java-server,
 * the two CI runs the suite on), and prints a MONGODB_URI for each. `documentdb-auth` is the same
 * DocumentDB-backed server with authentication on: its MONGODB_URI carries a user and password. `npm run db:stop` stops them,
 * every process of each, and removes their data directories.
 */
import {
  DEFAULT_SERVERS,
  describeServer,
  readRecordedServers,
  readRunningServers,
  serverAvailable,
  startServer,
  stopServer,
  writeRunningServers,
  type RunningServer,
  type ServerName,
} from './servers.js';

const command = process.argv[2];
const only = process.argv.slice(3) as ServerName[];
const names: readonly ServerName[] = only.length > 0 ? only : DEFAULT_SERVERS;
const NEEDS: Record<ServerName, string> = {
  documentdb: 'Linux with Go, and root (or sudo) for Debian packages',
  'documentdb-auth': 'Linux with Go, and root (or sudo) for Debian packages',
  java: 'java and mvn',
  ferretdb: 'go and servers/ferretdb',
};

if (command === 'start') {
  const running = readRunningServers();
  const started: RunningServer[] = [...running];
  for (const name of names) {
    const existing = running.find((server) => server.name === name);
    if (existing) {
      console.log(`${name}: already running  MONGODB_URI=${existing.uri}`);
      continue;
    }
    if (!serverAvailable(name)) {
      console.log(`${name}: skipped (needs ${NEEDS[name]})`);
      continue;
    }
    try {
      const began = Date.now();
      const server = await startServer(name, { detached: true });
      started.push(server);
      console.log(`${name}: ${describeServer(name)}, started in ${((Date.now() - began) / 1000).toFixed(1)} s\n  MONGODB_URI=${server.uri}`);
    } catch (error) {
      console.error(`${name}: failed to start: ${(error as Error).message}`);
      process.exitCode = 1;
    }
  }
  writeRunningServers(started);
  if (started.length > 0) console.log('Run the tests against one: MONGODB_URI=<uri> npm test   (stop them: npm run db:stop)');
} else if (command === 'stop') {
  // Every recorded server, alive or half-dead: a PostgreSQL left behind by a crashed FerretDB is stopped too.
  const running = readRecordedServers();
  for (const server of running) {
    if (only.length > 0 && !only.includes(server.name)) continue;
    stopServer(server);
    console.log(`${server.name}: stopped (pid ${server.pids.join(', ')})`);
  }
  writeRunningServers(running.filter((server) => only.length > 0 && !only.includes(server.name)));
} else if (command === 'uri') {
  const server = readRunningServers().find((candidate) => candidate.name === (only[0] ?? 'java'));
  if (!server) {
    console.error(`${only[0] ?? 'java'} is not running: npm run db:start`);
    process.exitCode = 1;
  } else {
    console.log(server.uri);
  }
} else {
  console.error('usage: tsx scripts/db.ts start|stop|uri [documentdb|documentdb-auth|java|ferretdb]');
  process.exitCode = 2;
}
