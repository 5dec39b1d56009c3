/**
 * The `molt` executable: wires the process (argv, stdio, environment, signals) to `runCli`.
 * First SIGINT/SIGTERM: stop after the batch in flight and save the checkpoint (exit 3);
 * a second one: exit at once.
 */
import { runCli } from './run.js';

const controller = new AbortController();
let signals = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  signals++;
  if (signals > 1) process.exit(130);
  process.stderr.write(`\nmolt: ${signal}: stopping after the batch in flight (again to quit at once)\n`);
  controller.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  interactive: process.stderr.isTTY === true,
  columns: process.stderr.columns || 80,
  stdoutTerminal: process.stdout.isTTY === true,
  stdoutColumns: process.stdout.columns || 80,
  signal: controller.signal,
});
process.exitCode = code;
