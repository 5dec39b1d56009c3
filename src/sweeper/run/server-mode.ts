import type { MigrationTarget } from '../../migrate/index.js';
import type { ServerCapabilities } from '../../server/index.js';
import type { ResolvedSweepOptions } from '../options.js';
import type { ServerPlanResult } from '../server-plan.js';
import { SweepReason, SweepStatus } from '../status.js';
import type { Outcome } from './tally.js';

/**
 * Whether a run's batches run on the server: `true`, why not (a fallback `auto` allows, and the
 * report says), or the outcome that stops a `server` run that cannot have it.
 */
export function serverMode(
  options: Pick<ResolvedSweepOptions, 'mode' | 'dryRun' | 'archive' | 'allowLoss'>,
  { plan, clientOnly }: ServerPlanResult,
  target: MigrationTarget,
  capabilities: ServerCapabilities,
): true | string | Outcome {
  const { mode, dryRun, archive, allowLoss } = options;
  if (mode === 'client') return 'mode client';
  if (dryRun) return 'a dry run reads every document on the client';
  if (plan.size === 0) {
    // Each version's own reason (a function step, a convert without upExpr, defaults…), as molt check gives it.
    const reasons = [...clientOnly].map(([version, why]) => `${version === null ? 'unversioned' : `v${version}`}: ${why}`);
    return `no stale version has a server form in this direction${reasons.length === 0 ? '' : ` (${reasons.join('; ')})`}`;
  }
  // Going down, each document is checked for loss on the client: without allowLoss to refuse it
  // (`server` is refused before), with it to count it (`lossy`). Only an explicit `server` with
  // allowLoss trades that count for the server's speed (its batches count no lossy documents).
  if (target.direction === 'down' && !allowLoss) return 'going down without allowLoss, each document is checked for loss on the client';
  if (target.direction === 'down' && mode === 'auto') return "going down, each document is checked for loss on the client (counted in lossy); mode 'server' with allowLoss runs on the server without that count";
  // Archiving reads each original: those batches run on the client.
  if (archive && mode === 'auto') return 'archive reads each original on the client';
  if (archive) return { status: SweepStatus.ABORTED, reason: SweepReason.ERROR, error: { name: 'ServerModeUnavailable', message: "mode 'server' cannot archive originals (they would have to cross the wire): use mode 'auto' or 'client' with archive" } };
  if (capabilities.updatePipelines) return true;
  if (mode === 'auto') return `this server (${capabilities.kind} ${capabilities.version}) does not run update pipelines`;
  return { status: SweepStatus.ABORTED, reason: SweepReason.ERROR, error: { name: 'ServerModeUnavailable', message: `mode 'server' needs update pipelines, and this server (${capabilities.kind} ${capabilities.version}) does not run them: use mode 'auto' or 'client'` } };
}
