/**
 * `npm run bench`: runs every benchmark against one server (see scripts/servers.ts
 * `resolveServer`) and prints Markdown tables of ratios against baselines measured in the same run.
 * `npm run bench -- read` runs only the read part (`sweep`, `server-sweep` likewise; `peers`, the
 * peer comparison, and `telemetry`, only when named); `--rounds N` changes the number of rounds. Each benchmark
 * writes its figures to `bench/results/<benchmark>-<server>.json`, and the charts are drawn again
 * from every results file at the end; `npm run bench -- charts` only draws them (no server).
 */
import os from 'node:os';
import { MongoClient } from 'mongodb';
import { resolveServer } from '../scripts/servers.js';
import { serverCapabilities } from '../src/server/index.js';
import { renderCharts } from './charts.js';
import { runPeersBench } from './peers.js';
import { runReadBench } from './read.js';
import { runRollbackBench } from './rollback.js';
import { runServerSweepBench } from './server-sweep.js';
import { runSweepBench } from './sweep.js';
import { runTelemetryBench } from './telemetry.js';
import { runWorkersBench } from './workers.js';
import { commandLine, serverTag, writeResult } from './results.js';

const args = process.argv.slice(2);
const roundsFlag = args.indexOf('--rounds');
const rounds = roundsFlag >= 0 ? Number(args[roundsFlag + 1]) : 15;
const VALUE_FLAGS = ['--rounds', '--documents', '--sizes'];
const parts = args.filter((arg, index) => !arg.startsWith('--') && !VALUE_FLAGS.includes(args[index - 1] ?? ''));
function numberFlag(name: string): number | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : undefined;
}
function listFlag(name: string): number[] {
  const at = args.indexOf(name);
  return at >= 0 ? (args[at + 1] ?? '').split(',').map(Number) : [];
}
const wanted = (part: string) => parts.length === 0 || parts.includes(part);
/** Parts only run when asked for by name. */
const asked = (part: string) => parts.includes(part);

if (parts.length === 1 && parts[0] === 'charts') {
  for (const path of await renderCharts()) console.log(`drew ${path}`);
  process.exit(0);
}

const server = await resolveServer();
const client = new MongoClient(server.uri);
try {
  await client.connect();
  const buildInfo = await client.db('admin').command({ buildInfo: 1 });
  console.log(`server: ${server.source}, reports version ${String(buildInfo.version)}`);
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.log(`machine: ${machine}`);
  const db = client.db(`molt_bench_${Date.now()}`);
  const tag = serverTag(await serverCapabilities(db));
  const record = (benchmark: string, figures: unknown): void => {
    if (figures !== undefined) console.log(`\nwrote ${writeResult({ benchmark, server: tag, command: commandLine(args), machine, figures })}`);
  };
  try {
    if (wanted('read')) record('read', await runReadBench(db, { rounds }));
    // Peers: at most 7 rounds (four read contenders each), so that a run stays within minutes.
    if (asked('peers')) record('peers', await runPeersBench(db, { uri: server.uri, client, rounds: Math.min(rounds, 7) }));
    // 100,000-document sweeps are long: a third of the rounds (at least 3), alternating with the baseline.
    if (wanted('sweep')) record('sweep', await runSweepBench(db, { uri: server.uri, rounds: Math.max(3, Math.round(rounds / 3)) }));
    if (wanted('server-sweep')) record('server-sweep', await runServerSweepBench(db, { rounds }));
    if (wanted('rollback')) record('rollback', await runRollbackBench(db, { rounds }));
    if (asked('telemetry')) record('telemetry', await runTelemetryBench(db, { rounds }));
    // Several workers: only when named (fresh collections of 100,000 documents per configuration);
    // `--documents N` and `--sizes a,b` (one worker's cost per document at each size) change it.
    if (asked('workers')) record('workers', await runWorkersBench(db, { uri: server.uri, documents: numberFlag('--documents') ?? 100_000, sizes: listFlag('--sizes') }));
  } finally {
    await db.dropDatabase();
  }
  for (const path of await renderCharts()) console.log(`drew ${path}`);
} finally {
  await client.close();
  await server.stop();
}
