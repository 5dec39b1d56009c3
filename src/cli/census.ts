import type { VersionCount } from '../sweeper/inspection/inspect.js';
import { formatCount } from './progress.js';

/** How `molt status` draws the version census: as bars on a terminal, else one plain line. */
export interface CensusStyle {
  /** The line width to stay within (the terminal's columns). */
  readonly width: number;
  /** ANSI colours: the latest version green, other versions yellow, values that are not versions red. */
  readonly color: boolean;
}

/** Never narrower than this, whatever the terminal says; never wider than `MAX_BAR`. */
const MIN_BAR = 10;
const MAX_BAR = 40;
/** Eighths of a cell, so that small shares still differ. */
const PARTIAL = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const RESET = '\x1b[0m';
const GREEN = '\x1b[32m';
const YELLOW = '\x1b[33m';
const RED = '\x1b[31m';

/** `none`, `v2`, `invalid "x"`: the same names as the plain census line. */
export function versionLabel(version: VersionCount['version']): string {
  return version === null ? 'none' : typeof version === 'number' ? `v${version}` : `invalid ${version}`;
}

/** A bar of `share` (0 to 1) of `width` cells, in eighths; any document at all shows at least a sliver. */
export function bar(share: number, width: number): string {
  const eighths = Math.round(Math.min(1, Math.max(0, share)) * width * 8);
  const text = '█'.repeat(Math.floor(eighths / 8)) + PARTIAL[eighths % 8];
  return text === '' && share > 0 ? '▏' : text;
}

/**
 * The census as one line per stored version, a bar as long as its share of the collection, the
 * count and the share; each line is at most `style.width - indent` characters (past the narrowest
 * bar, it may be wider):
 * ```
 * none  ██████████▍                              16  32.7%
 * v3    ███████████████████████████████▏         32  65.3%
 * ```
 */
export function renderCensus(histogram: readonly VersionCount[], latest: number, style: CensusStyle, indent = 0): string[] {
  const total = histogram.reduce((sum, entry) => sum + entry.count, 0);
  if (total === 0) return ['(empty)'];
  const labels = histogram.map((entry) => versionLabel(entry.version));
  const counts = histogram.map((entry) => formatCount(entry.count));
  const labelWidth = Math.max(...labels.map((label) => label.length));
  const countWidth = Math.max(...counts.map((count) => count.length));
  // label, 2 spaces, bar, 2 spaces, count, 2 spaces, "100.0%"
  const room = style.width - indent - labelWidth - countWidth - 12;
  const barWidth = Math.max(MIN_BAR, Math.min(MAX_BAR, room));
  return histogram.map((entry, index) => {
    const share = entry.count / total;
    const drawn = bar(share, barWidth);
    const colour = typeof entry.version === 'string' ? RED : entry.version === latest ? GREEN : YELLOW;
    const painted = style.color ? `${colour}${drawn}${RESET}` : drawn;
    const percent = `${(share * 100).toFixed(1)}%`.padStart(6);
    return `${(labels[index] as string).padEnd(labelWidth)}  ${painted}${' '.repeat(barWidth - drawn.length)}  ${(counts[index] as string).padStart(countWidth)}  ${percent}`;
  });
}

/**
 * Whether and how to draw the census: bars when stdout is a terminal, or when `MOLT_BARS=1`
 * (`MOLT_BARS=0` turns them off); colour only on a terminal, and never with `NO_COLOR` set
 * (https://no-color.org) or `TERM=dumb`.
 */
export function censusStyle(env: NodeJS.ProcessEnv, terminal: boolean, columns: number | undefined): CensusStyle | undefined {
  const bars = env.MOLT_BARS === '1' ? true : env.MOLT_BARS === '0' ? false : terminal;
  if (!bars) return undefined;
  const color = terminal && (env.NO_COLOR ?? '') === '' && env.TERM !== 'dumb';
  return { width: columns !== undefined && columns > 0 ? columns : 80, color };
}
