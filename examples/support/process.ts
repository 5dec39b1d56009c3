/**
 * For the examples' tests: runs an example as its README does (`npx tsx <file>`), against the test
 * server, and hands back its output.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/** What a finished example printed, and how it exited. */
export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts `tsx <args>` in the repository root with `env` added to the environment. */
export function start(args: readonly string[], env: Record<string, string>): ChildProcessWithoutNullStreams {
  return spawn(TSX, [...args], { cwd: ROOT, env: { ...process.env, ...env, FORCE_COLOR: '0' } });
}

/** Runs `tsx <args>` to the end. */
export function run(args: readonly string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Finished> {
  const child = start(args, env);
  return finished(child, timeoutMs);
}

/** Collects a started process's output until it exits (killed after `timeoutMs`). */
export function finished(child: ChildProcessWithoutNullStreams, timeoutMs = 60_000): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${child.spawnargs.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Resolves with the first match of `pattern` in the process's stdout. */
export function waitForLine(child: ChildProcessWithoutNullStreams, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; got:\n${seen}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(match);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`exited with ${String(code)} before a line matched ${pattern}:\n${seen}`)));
  });
}
