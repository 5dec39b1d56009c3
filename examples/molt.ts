/**
 * The `molt` command, run from this repository's source, for the examples' READMEs:
 * `npx tsx examples/molt.ts status --config examples/cron/molt.config.ts`. In an app that installed
 * mongo-molt the same command is `npx molt status`. It is also how to embed the CLI: `runCli`
 * takes the arguments and the process's streams and resolves to the exit code.
 */
import { runCli } from 'mongo-molt/cli';


const controller = new AbortController();
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // The first signal stops the sweep after the batch in flight; a second one quits at once.
    if (++signals > 1) process.exit(130);
    controller.abort();
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  interactive: process.stderr.isTTY === true,
  columns: process.stderr.columns ?? 80,
  signal: controller.signal,
});
