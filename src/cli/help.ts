import type { Command } from './args.js';

const COMMON = `  -c, --config <file>  the config file (default: molt.config.ts in the working directory)
      --json           print the result as JSON on stdout: an array, one entry per collection
                       and database ({ db, ... })
                       (on an error: { "error": { name, message }, "exitCode" })
      --log json       every log line as JSON on stderr, even on a terminal, and no human summary
                       (level: MOLT_LOG_LEVEL=fatal|error|warn|info|debug|trace|silent, default info)
  -h, --help           this help`;

const TENANT_FLAGS = `      --db <name|glob>      run on these databases instead of the config's db (repeatable; 'tenant_*'):
                            each its own state, lease and report; a collection one lacks is reported;
                            the exit code is the worst of them
      --tenant-concurrency N  databases at once (default 1), sharing the rate`;

const EXIT_CODES = `Exit codes: 0 done; 1 documents failed (recorded failures still stale, every run until fixed),
verification failed, or an error; 2 usage or configuration error, or a database or collection that
does not exist; 3 partial (time budget spent, lease held by another run, interrupted, paused: the
next run goes on); 4 the server could not be used (cannot connect, credentials refused, no answer).`;

export const MAIN_HELP = `molt: lazy schema migrations for MongoDB, the operator's side of mongo-molt

Usage: molt <command> [collection…] [flags]

Commands:
  status     version histogram per collection, checkpoint, lease, pause/pin, index, failures, last run, ETA
  sweep      migrate the stale documents in throttled, resumable batches (run it from cron)
  check      dry-run every upcaster and validation over the stale documents; writes nothing
  failures   list the documents that failed to migrate
  verify     exit 1 if any document is below --min-version N (the contract-phase gate)
  restore    put archived originals back (swept with archive: true), never over a changed document
  prune      delete expired archived originals (where the server has no TTL indexes)
  init       write a starter molt.config.ts listing a database's collections and their versions
  pause      stop every sweep of the collections until molt resume (a cron run exits 3, reason paused)
  resume     let a paused collection's sweeps run again
  unpin      clear the target molt sweep --to k pinned: plain sweeps go to the latest version again
  lease      molt lease release [collection…]: free a lease whose run is gone

Collections default to every collection in the config. The connection string comes from
MONGODB_URI, else from the config's uri; credentials never appear in the output.

${EXIT_CODES}

Run the installed bin itself (./node_modules/.bin/molt), so that a scheduler's SIGTERM reaches it;
started through npx, molt stops when npx goes away. Keep MONGODB_URI in an environment file
(mode 600), never on the command line, where ps shows it for the whole run.

Examples:
  ./node_modules/.bin/molt status
  ./node_modules/.bin/molt sweep --max-duration 10m
  */10 * * * *  cd /srv/app && . ./molt.env && exec ./node_modules/.bin/molt sweep --max-duration 9m --log json >>/var/log/molt.log 2>&1

Run molt <command> --help for the flags of a command.`;

export const COMMAND_HELP: Record<Command, string> = {
  status: `Usage: molt status [collection…] [flags]

Shows, per collection: documents per stored version (one aggregation), the stale count, the
sweeper's checkpoint, who holds the lease, the stored control (paused by molt pause, pinned by
molt sweep --to k), whether the stale-version index exists (and, if not, what the first sweep
will build it over), the failures count, the last run's report and an ETA.
On a terminal the versions are drawn as one bar per version with its count and share;
MOLT_BARS=1 draws them anywhere (a pipe, a log), MOLT_BARS=0 never; NO_COLOR turns colour off.

Flags:
      --allow-missing       skip a collection that does not exist instead of exiting 2
${TENANT_FLAGS}
${COMMON}

Examples:
  molt status
  molt status users --json`,
  sweep: `Usage: molt sweep [collection…] [flags]

Migrates the stale documents to the latest version in batches of compare-and-swap writes,
throttled, resumable (a killed run resumes at its checkpoint), one run per collection at a time.
Documents that fail are recorded (molt failures) and left untouched. Flags override the config.

Flags:
      --batch-size <n>      documents per batch (default 500)
      --rate <n>            documents per second, or "unlimited" (default 2000)
      --pause <ms>          pause between batches (default 50)
      --max-duration <d>    time budget for the whole command, start-up and connection
                            included: 90s, 10m, 1h; no batch starts after it; then exit 3
      --lease <d>           how long the run's lease lasts without renewal (leaseMs, default 60s);
                            renewed every third of it while the run lives, however slow a batch
      --dry-run             read, upcast and validate, write nothing
      --retry-failed        first retry the recorded failures (after a fix)
      --to <k>              sweep to version k and keep it there: below the latest, a reverse
                            sweep that pins the collection at k (later plain sweeps go to k, not
                            the latest) until molt sweep --to <latest> or molt unpin
      --allow-loss          with --to: also convert documents whose way down drops a value
      --mode <m>            auto (default): on the server where the steps allow; client; server
      --otel                export spans and metrics: starts the OpenTelemetry SDK (@opentelemetry/sdk-node,
                            if installed) from the OTEL_* environment variables
      --build-index         build the stale-version index { <versionField>: 1, _id: 1 } and sweep
                            nothing (the first real sweep builds it otherwise; molt status says
                            whether it exists and what building it costs)
      --workers <n>         n range workers in this process on the pass's stored plan of _id
                            ranges; the same command on other hosts joins the same plan, and
                            --rate is shared by all of them (not with --dry-run, --retry-failed)
      --allow-missing       skip a collection that does not exist instead of exiting 2
${TENANT_FLAGS}
${COMMON}

A paused collection (molt pause) is not swept: exit 3, reason paused. A pinned one (molt sweep
--to k) is swept to k, and the report says so.

A batch that takes longer than the lease (--batch-size / --rate above --lease) is warned about
before the run starts.

On SIGINT/SIGTERM the batch in flight finishes, the checkpoint is saved, and molt exits 3.

${EXIT_CODES}

Examples:
  molt sweep --max-duration 10m
  molt sweep users --rate 500 --batch-size 200
  molt sweep users --workers 4
  molt sweep --retry-failed --json`,
  check: `Usage: molt check [collection…] [flags]

Runs every upcaster and validation over the stale documents, or a random sample of them, and
reports the failures grouped by error with example _ids. Writes nothing. Exits 1 if any fail.

Flags:
      --sample <n>          check a random sample of n stale documents
      --batch-size <n>      documents read per query (default 500)
      --round-trip          also bring each document back down to its stored version and report lossy steps
      --allow-missing       skip a collection that does not exist instead of exiting 2
${TENANT_FLAGS}
${COMMON}

Examples:
  molt check
  molt check users --sample 1000`,
  failures: `Usage: molt failures [collection…] [flags]

Lists the documents that failed to migrate, newest first: _id, versions, error, attempts.

Flags:
      --limit <n>           show at most n per collection (default 20)
      --allow-missing       skip a collection that does not exist instead of exiting 2
${COMMON}

Examples:
  molt failures users --limit 50
  molt failures --json`,
  init: `Usage: molt init --db <name> [flags]

Writes a commented molt.config.ts for the collections of a database (MONGODB_URI), each with its
documents per stored version: the census to start from. Every entry is commented out until it has
a schema. Never overwrites a file without --force. Needs no config.

Flags:
      --db <name>           the database (default: the one in MONGODB_URI's path)
      --version-field <f>   the field that holds versions (default schemaVersion)
      --out <file>          where to write (default molt.config.ts in the working directory)
      --force               replace an existing file
      --json                print the census as JSON on stdout instead of writing a file
  -h, --help           this help

Examples:
  MONGODB_URI=mongodb://127.0.0.1:27017 molt init --db app
  molt init --db app --out config/molt.config.ts`,
  verify: `Usage: molt verify [collection…] --min-version <n> [flags]

Counts the documents below version n (or without a valid version). Exits 1 if there are any, or
if a collection does not exist (a misspelled name must not pass the gate): gate the contract phase
(dropping an old field, retiring an upcaster) on it in CI.

Flags:
      --min-version <n>     the version every document must have reached; repeat as
                            --min-version <collection>=<n> for one collection (default: the
                            collection's minVersion in the config; one of them is required)
      --allow-missing       pass a collection that does not exist (created later)
${TENANT_FLAGS}
${COMMON}

Examples:
  molt verify users --min-version 3
  molt verify --min-version users=3 --min-version orders=4`,
  restore: `Usage: molt restore [collection…] [flags]

Puts back the originals a sweep with archive: true kept (each document as it was before its first
migration), with a compare-and-swap on the whole document as mongo-molt last stored it: a document
changed since is skipped and reported, never overwritten. Exit 1 when any was skipped or missing.

Flags:
      --since <date>        only originals archived at or after this date or time (ISO 8601)
      --dry-run             count what would be restored; write nothing
${COMMON}

Examples:
  molt restore users --since 2026-11-27T10:00:00Z --dry-run
  molt restore users`,
  prune: `Usage: molt prune [flags]

Deletes the archived originals whose expiry has passed (archiveTtlMs, default 30 days). Where the
server has TTL indexes the archive's index does it on its own; elsewhere run this from cron.

Flags:
${COMMON}

Examples:
  molt prune`,
  pause: `Usage: molt pause [collection…] [flags]

Pauses the collections' sweeps, stored in the state collection (molt_state): every molt sweep (a
cron run included) stops before it starts, reports partial with reason paused and exits 3, until
molt resume. A run already under way finishes its work: stop it with SIGTERM.

Flags:
${COMMON}

Examples:
  molt pause users
  molt resume users`,
  resume: `Usage: molt resume [collection…] [flags]

Lets the paused collections' sweeps run again (the pinned target, if any, stays).

Flags:
${COMMON}

Examples:
  molt resume users`,
  unpin: `Usage: molt unpin [collection…] [flags]

Clears the target a molt sweep --to k pinned: the next plain molt sweep goes to the latest version
again (as molt sweep --to <latest> does). Changes no document.

Flags:
${COMMON}

Examples:
  molt unpin users`,
  lease: `Usage: molt lease release [collection…] [flags]

Frees the sweep lease of a run that is gone (killed with SIGKILL, a crashed host), so that the
next run need not wait for the lease to expire (at most leaseMs). A lease that has not expired is
released only when its holder ran on this host and its process no longer exists, or with --force:
a live run renews its lease every third of leaseMs, and releasing it lets a second run start beside
it (the first then stops with LeaseLost at its next checkpoint). An expired lease needs nothing.

Flags:
      --force               release a lease that has not expired, whoever holds it
${COMMON}

Examples:
  molt lease release users
  molt lease release users --force`,
};
