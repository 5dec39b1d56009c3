/**
 * `npm run db:start`: provisions (first time) and starts, in the background, every test server
 * this machine can run, and prints a MONGODB_URI for each. `npm run db:stop` stops them.
 */
import {
  describeServer,
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
const names: ServerName[] = only.length > 0 ? only : ['java', 'ferretdb'];

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
      console.log(`${name}: skipped (${name === 'java' ? 'java and mvn' : 'go and servers/ferretdb'} not found)`);
      continue;
    }
    try {
      const server = await startServer(name, { detached: true });
      started.push(server);
      console.log(`${name}: ${describeServer(name)}\n  MONGODB_URI=${server.uri}`);
    } catch (error) {
      console.error(`${name}: failed to start: ${(error as Error).message}`);
      process.exitCode = 1;
    }
  }
  writeRunningServers(started);
  if (started.length > 0) console.log('Run the tests against one: MONGODB_URI=<uri> npm test   (stop them: npm run db:stop)');
} else if (command === 'stop') {
  const running = readRunningServers();
  for (const server of running) {
    if (only.length > 0 && !only.includes(server.name)) continue;
    stopServer(server);
    console.log(`${server.name}: stopped (pid ${server.pid})`);
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
  console.error('usage: tsx scripts/db.ts start|stop|uri [java|ferretdb]');
  process.exitCode = 2;
}
