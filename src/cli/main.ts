/**
 * The `molt` executable: wires the process (argv, stdio, environment, signals) to `runCli`.
 * First SIGINT/SIGTERM: stop after the batch in flight and save the checkpoint (exit 3);
 * a second one: exit at once.
 */
import { runCli } from './run.js';

const controller = new AbortController();
let signals = 0;
const onSignal = (signal: NodeJS.Signals | 'launcher-gone'): void => {
  signals++;
  if (signals > 1) process.exit(130);
  // runCli logs the stop (a JSON line where logs are JSON).
  controller.abort(signal);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// Started through npx / npm exec, molt is npm's child, and npm does not pass a scheduler's SIGTERM
// on: it exits, and molt is re-parented. Its parent going away is then the stop signal.
if (process.env.npm_command === 'exec') {
  const launcher = process.ppid;
  setInterval(() => {
    if (process.ppid !== launcher && signals === 0) onSignal('launcher-gone');
  }, 500).unref();
}

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
// Exit once the output is written: a client closed within its bound may still hold sockets to a
// server that stopped answering, which would keep the process alive until the driver's
// connection timeouts (30 s and more) after its report.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
process.exit(code);
