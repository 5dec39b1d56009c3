import { BSON } from 'mongodb';
import type { FailureRecord } from '../sweeper/failures.js';
import type { CheckReport, MigrationStatus, VerifyReport } from '../sweeper/inspection/inspect.js';
import type { SweepReason, SweepReport } from '../sweeper/status.js';
import { describePause, describePin, type SweepControl } from '../sweeper/control.js';
import type { LeaseReleaseReport } from '../sweeper/lease-release.js';
import type { StaleIndexState } from '../sweeper/stale.js';
import type { RestoreReport } from '../sweeper/archive/restore.js';
import { renderCensus, versionLabel, type CensusStyle } from './census.js';
import { formatCount, formatDuration } from './progress.js';

/** An `_id` as text: `"u1"`, `ObjectId("…")`, `42`. */
export function formatId(id: unknown): string {
  if (typeof id === 'string') return JSON.stringify(id);
  if (id instanceof BSON.ObjectId) return `ObjectId("${id.toHexString()}")`;
  try {
    return BSON.EJSON.stringify(id as BSON.Document, { relaxed: true });
  } catch {
    return String(id);
  }
}

/** Values as JSON: `_id`s and dates as extended JSON (relaxed), so any BSON type survives. */
/**
 * JSON for `--json`: relaxed EJSON (an ObjectId stays recognisable), with every date as an ISO
 * string, the same in every command (EJSON alone would print `{ "$date": … }`).
 */
export function toJson(value: unknown): string {
  return BSON.EJSON.stringify(isoDates(value) as BSON.Document, undefined, 2, { relaxed: true });
}

function isoDates(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(isoDates);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, isoDates(item)]));
  }
  return value;
}

function date(value: Date | null | undefined): string {
  return value instanceof Date ? value.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}

/** The words for a report's `reason`. */
const REASONS: Readonly<Record<SweepReason, string>> = {
  signal: 'interrupted by a signal; the next run resumes at the checkpoint',
  budget: 'time budget spent; the next run resumes at the checkpoint',
  lock: 'another run holds the lease',
  'lease-lost': 'another run took the lease over',
  paused: 'paused: nothing swept',
  'stale-left': 'the pass ended with stale documents it can still migrate; the next run starts a new pass',
  'max-failures': 'stopped at maxFailures',
  error: 'stopped by an error',
};

/** A sweep's report in text; `remaining: null` (a collection not started whose count failed) reads as unknown. */
export function formatSweepReport(report: Omit<SweepReport, 'remaining'> & { readonly remaining: number | null }): string {
  const rate = report.elapsedMs > 0 ? (report.scanned * 1000) / report.elapsedMs : 0;
  const timing = `${formatDuration(report.elapsedMs)}${report.scanned > 0 ? `, ${formatCount(rate)} docs/s` : ''}`;
  const lines = [
    `${report.collection}: ${report.status}${report.reason !== undefined ? ` (${REASONS[report.reason] ?? report.reason})` : ''}${report.dryRun ? ' (dry run: nothing written)' : ''}, pass ${report.pass}, target v${report.targetVersion}` +
      (report.mode === 'server' ? `, on the server for ${report.serverVersions.map((version) => (version === null ? 'unversioned' : `v${version}`)).join(', ')}` : ''),
    `  ${report.dryRun ? 'would migrate' : 'migrated'} ${formatCount(report.migrated)}, skipped ${formatCount(report.skipped)} (changed meanwhile), ${report.dryRun ? 'would fail' : 'failed'} ${formatCount(report.failed)}, scanned ${formatCount(report.scanned)}`,
    report.remaining === null
      ? `  remaining unknown (the stale documents could not be counted in time: molt status counts them), ${timing}`
      : report.dryRun
        ? `  still stale ${formatCount(report.remaining + report.migrated + report.skipped)} (a dry run migrates nothing), ${timing}`
        : `  remaining ${formatCount(report.remaining)} stale, ${timing}`,
  ];
  if (report.reason === 'paused' && report.detail !== undefined) lines.push(`  ${report.detail}`);
  if (report.pinned) lines.push(`  ${describePin(report.pinned, report.collection)}`);
  if (report.staleIndex === 'built') lines.push(`  built the stale-version index first (once: molt status shows it)`);
  if (report.dryRun && report.staleIndex === 'missing' && (report.remaining ?? 0) + report.migrated + report.skipped > 0) {
    lines.push(`  a real run would first build the stale-version index over the whole collection: molt status ${report.collection} shows its cost; molt sweep ${report.collection} --build-index builds it alone`);
  }
  if (report.ranges) lines.push(`  ranges ${formatCount(report.ranges.done)}/${formatCount(report.ranges.total)} done, ${formatCount(report.ranges.byThisRun)} by this run`);
  if (report.error) lines.push(`  ${report.error.name}: ${report.error.message}`);
  if (report.undeclaredKeys !== undefined && report.undeclaredKeys.length > 0) {
    lines.push(`  stored keys v${report.targetVersion} does not declare: ${report.undeclaredKeys.join(', ')} (leftovers of an upcaster? molt check lists them before a sweep)`);
  }
  const earlier = report.staleFailures - (report.dryRun ? 0 : report.failed);
  if (earlier > 0) {
    lines.push(report.dryRun
      ? `  ${formatCount(earlier)} document${earlier === 1 ? '' : 's'} recorded as failures by earlier runs, still stale: skipped (not in "would fail"); --retry-failed includes them`
      : `  ${formatCount(earlier)} failure${earlier === 1 ? '' : 's'} recorded by earlier runs still stale`);
  }
  if (report.failed > 0 || earlier > 0) {
    lines.push(
      report.dryRun
        ? `  a dry run records no failures: molt check ${report.collection} lists them by error`
        : `  see: molt failures ${report.collection}; after a fix: molt sweep ${report.collection} --retry-failed`,
    );
  }
  return lines.join('\n');
}

export function formatRestore(report: RestoreReport): string {
  const lines = [`${report.collection}: ${report.dryRun ? 'would restore' : 'restored'} ${formatCount(report.restored)}, skipped ${formatCount(report.skipped)} (changed since their migration), missing ${formatCount(report.missing)}${report.alreadyRestored > 0 ? `, already restored ${formatCount(report.alreadyRestored)}` : ''}`];
  if (report.skippedIds.length > 0) lines.push(`  skipped, for example: ${report.skippedIds.map((id) => JSON.stringify(id)).join(', ')}`);
  return lines.join('\n');
}

/** `molt status` as text; with `census`, the versions drawn as one bar per version (on a terminal). */
export function formatStatus(status: MigrationStatus, census?: CensusStyle): string {
  const percent = status.total > 0 ? ` (${((status.stale / status.total) * 100).toFixed(1)}%)` : '';
  const histogram = status.histogram.map((entry) => `${versionLabel(entry.version)}: ${formatCount(entry.count)}`);
  const versions = census
    ? renderCensus(status.histogram, status.latest, census, 14).join(`\n${' '.repeat(14)}`)
    : histogram.length > 0 ? histogram.join('  ') : '(empty)';
  const checkpoint = status.checkpoint;
  const lastRun = status.lastRun;
  const lines = [
    `${status.collection} (schema "${status.schema}", latest v${status.latest}, field ${status.versionField})`,
    `  documents   ${formatCount(status.total)}, stale ${formatCount(status.stale)}${percent}`,
    `  versions    ${versions}`,
    `  checkpoint  ${checkpoint ? `pass ${checkpoint.pass} ${checkpoint.completedAt ? `complete at ${date(checkpoint.completedAt)}` : `after _id ${formatId(checkpoint.lastId)}`}, ${checkpoint.target?.startsWith('down:') ? `down to v${checkpoint.targetVersion} (a reverse sweep)` : `v${checkpoint.targetVersion}`}, migrated ${formatCount(checkpoint.migrated)} this pass, updated ${date(checkpoint.updatedAt)}` : 'none (never swept)'}`,
    `  lease       ${status.lease ? `held by ${status.lease.host} (pid ${status.lease.pid}) until ${date(status.lease.expiresAt)}` : 'free'}`,
    `  control     ${controlWords(status.collection, status.control)}`,
    `  index       ${indexWords(status.staleIndex)}`,
    `  failures    ${formatCount(status.failures)}${status.failures > 0 ? ` (molt failures ${status.collection})` : ''}`,
    `  last run    ${lastRun ? `${lastRun.status} at ${date(lastRun.finishedAt)}: migrated ${formatCount(lastRun.migrated)}, failed ${formatCount(lastRun.failed)}, ${formatDuration(lastRun.elapsedMs)}` : 'none'}`,
  ];
  if (status.plan) lines.push(`  plan        ${formatPlan(status.plan)}`);
  const eta = estimate(status);
  if (eta) lines.push(`  ETA         ${eta}`);
  return lines.join('\n');
}

/** A plan's ranges as a bar (█ done, ▒ claimed, · free) and counts, with the claims by owner. */
function formatPlan(plan: NonNullable<MigrationStatus['plan']>): string {
  const claims = Object.entries(plan.claimed);
  const held = claims.reduce((sum, [, n]) => sum + n, 0);
  const width = Math.min(plan.total, 40);
  const cells = (n: number): number => (plan.total === 0 ? 0 : Math.round((n / plan.total) * width));
  const done = cells(plan.done);
  const claimed = Math.min(width - done, cells(held));
  const bar = `[${'█'.repeat(done)}${'▒'.repeat(claimed)}${'·'.repeat(width - done - claimed)}]`;
  const owners = claims.map(([owner, n]) => `${owner} ×${n}`).join(', ');
  return `pass ${plan.pass} ${bar} ${plan.done}/${plan.total} ranges done, ${held} claimed${owners ? ` (${owners})` : ''}, ${plan.free} free${plan.completedAt ? `, complete at ${date(plan.completedAt)}` : ''}`;
}

function estimate(status: MigrationStatus): string | undefined {
  const lastRun = status.lastRun;
  if (status.stale === 0 || !lastRun || lastRun.scanned === 0 || lastRun.elapsedMs <= 0) return undefined;
  const rate = (lastRun.scanned * 1000) / lastRun.elapsedMs;
  const toGo = Math.max(0, status.stale - status.failures);
  return `~${formatDuration((toGo / rate) * 1000)} of sweeping at the last run's ${formatCount(rate)} docs/s`;
}

export function formatCheck(report: CheckReport): string {
  const sampled = report.sample === 'all' ? '' : report.sample === 'random' ? ' (random sample)' : ' (first documents by _id: this server has no $sample)';
  const lines = [`${report.collection}: checked ${formatCount(report.checked)} stale documents${sampled} against v${report.targetVersion}: ${formatCount(report.passed)} pass, ${formatCount(report.failed)} fail`];
  for (const group of report.groups) {
    lines.push(`  ${formatCount(group.count)} × ${group.error}: ${group.message}`);
    lines.push(`      e.g. ${group.examples.map(formatId).join(', ')}`);
  }
  if (report.undeclaredKeys.length > 0) {
    lines.push(`  the migrated documents keep keys v${report.targetVersion} does not declare: ${report.undeclaredKeys.join(', ')} (stored as the step returns them: drop them in the upcaster, e.g. ({ old, ...rest }) => ({ ...rest, new: old }))`);
  }
  if (report.roundTrip) {
    const { checked, lossy, noDown, examples } = report.roundTrip;
    lines.push(`  round trip (up to v${report.targetVersion}, down to the stored version): ${formatCount(checked - lossy - noDown)} of ${formatCount(checked)} come back unchanged, ${formatCount(lossy)} lossy, ${formatCount(noDown)} with no way down` +
      (examples.length > 0 ? `; e.g. ${examples.map(formatId).join(', ')}` : ''));
  }
  const { versions, clientOnly, compared, differing, examples } = report.serverSide;
  const named = (version: number | null) => (version === null ? 'unversioned' : `v${version}`);
  if (versions.length > 0) lines.push(`  a sweep can run on the server for ${versions.map(named).join(', ')} (where the server runs update pipelines)`);
  if (differing > 0) {
    lines.push(`  the server form (upExpr) disagrees with up on ${formatCount(differing)} of ${formatCount(compared)} documents compared, e.g. ${examples.map(formatId).join(', ')}: a sweep in auto mode migrates those versions on the client, in server mode it stops; make upExpr compute what up computes`);
  }
  for (const { version, reason } of clientOnly) lines.push(`  ${named(version)} sweeps on the client: ${reason}`);
  lines.push(`  index ${indexWords(report.staleIndex)}`);
  return lines.join('\n');
}

export function formatFailures(collection: string, failures: readonly FailureRecord[], total: number): string {
  if (failures.length === 0) return `${collection}: no failures`;
  const lines = [`${collection}: ${formatCount(total)} failure${total === 1 ? '' : 's'}${failures.length < total ? ` (newest ${failures.length} shown)` : ''}`];
  for (const failure of failures) {
    lines.push(`  ${formatId(failure.documentId)}  v${failure.fromVersion ?? '?'} -> v${failure.toVersion}  ${failure.attempts} attempt${failure.attempts === 1 ? '' : 's'}, last ${date(failure.lastAt)}`);
    lines.push(`      ${failure.error.name}: ${failure.error.message.length > 300 ? `${failure.error.message.slice(0, 297)}...` : failure.error.message}`);
  }
  return lines.join('\n');
}

export function formatVerify(report: VerifyReport): string {
  if (report.missing) {
    return report.ok
      ? `${report.collection}: ok, the collection does not exist (--allow-missing)`
      : `${report.collection}: the collection does not exist in this database: check its name and the database (db in the config), or pass --allow-missing if it is created later`;
  }
  if (report.ok) return `${report.collection}: ok, every document is at v${report.minVersion} or above`;
  const { collection } = report;
  const { sweepable, failures, outOfReach, outOfReachExamples, pinned } = report.fix;
  const lines = [`${collection}: ${formatCount(report.below)} document${report.below === 1 ? '' : 's'} below v${report.minVersion}, e.g. ${report.examples.map(formatId).join(', ')}`];
  const migrates = sweepable - failures;
  if (migrates > 0) {
    lines.push(pinned
      ? `  ${formatCount(migrates)} a sweep migrates, but ${collection} is ${describePin(pinned, collection)}: a sweep brings nothing above v${pinned.version} until then`
      : `  ${formatCount(migrates)} a sweep migrates: molt sweep ${collection}`);
  }
  if (failures > 0) lines.push(`  ${formatCount(failures)} recorded as failures: molt failures ${collection}, fix the step, then molt sweep ${collection} --retry-failed`);
  if (outOfReach > 0) {
    lines.push(`  ${formatCount(outOfReach)} store a version the schema does not know (not a version from its first to its latest, e.g. a string): no molt command migrates ${outOfReach === 1 ? 'it' : 'them'}; correct or remove by hand: ${outOfReachExamples.map(formatId).join(', ')}`);
  }
  return lines.join('\n');
}

function controlWords(collection: string, control: SweepControl): string {
  const words = [
    ...(control.paused ? [describePause(control.paused, collection)] : []),
    ...(control.pin ? [describePin(control.pin, collection)] : []),
  ];
  return words.length > 0 ? words.join('\n              ') : 'sweeps run, to the latest version';
}

/** Whether the stale-version index exists, and what building it costs. */
export function indexWords(state: StaleIndexState): string {
  const key = `{ ${Object.keys(state.key).map((field) => `${field}: 1`).join(', ')} }`;
  if (state.present) return `${key} present`;
  const size = state.bytes === undefined ? '' : `, ${formatBytes(state.bytes)}`;
  return `${key} missing: the first sweep builds it over all ${formatCount(state.documents)} documents${size} (molt sweep --build-index builds it alone)`;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit] as string}`;
}

/** `molt pause` / `resume` / `unpin`, as text. */
export function formatControl(collection: string, control: SweepControl): string {
  return `${collection}: ${controlWords(collection, control)}`;
}

/** `molt lease release`, as text. */
export function formatLeaseRelease(report: LeaseReleaseReport): string {
  const holder = report.holder ? `${report.holder.host} (pid ${report.holder.pid}) until ${date(report.holder.expiresAt)}` : '';
  switch (report.lease) {
    case 'free':
      return `${report.collection}: the lease is free; nothing to release`;
    case 'expired':
      return `${report.collection}: released the expired lease of ${holder}`;
    case 'gone':
      return `${report.collection}: released the lease of ${holder}: that process no longer exists on this host`;
    case 'forced':
      return `${report.collection}: released the lease of ${holder} (--force)`;
    case 'held':
      return `${report.collection}: not released: ${holder} holds the lease and renews it while it runs. Stop that run (it releases its lease), wait until it expires, or pass --force if you know it is gone (a live run then loses its lease at its next checkpoint)`;
  }
}

/** `molt sweep --build-index`, as text. */
export function formatBuildIndex(result: StaleIndexState & { readonly collection: string; readonly built: boolean; readonly ms: number }): string {
  return result.built ? `${result.collection}: built ${indexWords({ ...result, present: true }).replace(/ present$/, '')} over ${formatCount(result.documents)} documents in ${formatDuration(result.ms)}` : `${result.collection}: ${indexWords(result)}: nothing to build`;
}
