/**
 * The charts of BENCHMARKS.md and RELIABILITY.md, drawn as SVG from the results files
 * (`bench/results/*.json`) into `bench/charts/`: `npm run bench -- charts`, and at the end of every
 * benchmark run. Vega-Lite specs rendered headless by Vega (no canvas, no browser); the same
 * results give byte-identical files, so re-drawing without new figures changes nothing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { PeersFigures } from './peers.js';
import type { ReadFigures } from './read.js';
import { outputDir, readResults, type BenchResult } from './results.js';
import type { ServerSweepFigures } from './server-sweep.js';
import type { SweepFigures } from './sweep.js';

/** The reliability suite's figures (`bench/results/reliability-<server>.json`). */
export interface ReliabilityFigures {
  readonly rows: readonly { readonly what: string; readonly exercised: number; readonly unit: string; readonly lost: number }[];
}

type Row = Record<string, string | number>;

/** One colour per server in every chart. */
const SERVERS: readonly (readonly [string, string])[] = [['FerretDB 2 / DocumentDB', '#4c78a8'], ['mongo-java-server', '#f58518'], ['MongoDB', '#54a24b'], ['FerretDB 1', '#b279a2']];
const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  background: 'white',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 11, labelLimit: 400 },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom', labelLimit: 0 },
  title: { fontSize: 13, subtitleFontSize: 11, anchor: 'start' },
} as const;

/** The colour scale of the servers that `data` has, in a fixed order and colour. */
function serverScale(data: readonly Row[]): { domain: string[]; range: string[] } {
  const present = SERVERS.filter(([name]) => data.some((row) => row.server === name));
  return { domain: present.map(([name]) => name), range: present.map(([, colour]) => colour) };
}

function title(text: string, subtitle: string): { text: string; subtitle: string } {
  return { text, subtitle };
}

function byBenchmark<F>(results: readonly BenchResult[], benchmark: string): (BenchResult<F> & { readonly figures: NonNullable<F> })[] {
  return results.filter((result): result is BenchResult<F> & { readonly figures: NonNullable<F> } => result.benchmark === benchmark && result.figures !== null && result.figures !== undefined);
}

/**
 * Horizontal bars of a ratio per category, one bar per server side by side, the value printed at
 * its end, and reference lines (`1` and a target).
 */
function ratioBars(options: { title: { text: string; subtitle: string }; data: Row[]; category: string; value: string; axis: string; rules: readonly { at: number; label: string }[]; width?: number }): TopLevelSpec {
  const { data, category, value } = options;
  const categories = [...new Set(data.map((row) => row[category] as string))];
  const x = { field: value, type: 'quantitative', title: options.axis, scale: { zero: true } } as const;
  const y = { field: category, type: 'nominal', title: null, sort: categories } as const;
  const servers = serverScale(data);
  const yOffset = { field: 'server', type: 'nominal', sort: servers.domain } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    width: options.width ?? 360,
    config: CONFIG,
    layer: [
      {
        data: { values: data },
        mark: { type: 'bar', height: { band: 0.8 } },
        encoding: { y, x, yOffset, color: { field: 'server', type: 'nominal', title: null, scale: servers } },
      },
      {
        data: { values: data },
        mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 },
        encoding: { y, x, yOffset, text: { field: value, type: 'quantitative', format: '.2f' } },
      },
      {
        data: { values: options.rules.map((rule) => ({ at: rule.at, label: rule.label })) },
        layer: [
          { mark: { type: 'rule', strokeDash: [4, 3], color: '#555' }, encoding: { x: { field: 'at', type: 'quantitative' } } },
          { mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, y: 0, fontSize: 10, color: '#555' }, encoding: { x: { field: 'at', type: 'quantitative' }, text: { field: 'label' } } },
        ],
      },
    ],
  } as TopLevelSpec;
}

/** Lines of cost per document against N (log scale), one panel per server. */
function costLines(options: { title: { text: string; subtitle: string }; data: Row[]; series: string; seriesOrder: readonly string[] }): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    config: CONFIG,
    data: { values: options.data },
    facet: { column: { field: 'server', type: 'nominal', title: null, sort: serverScale(options.data).domain } },
    spec: {
      width: 240,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'documents', type: 'quantitative', title: 'documents (N, log scale)', scale: { type: 'log' }, axis: { values: [...new Set(options.data.map((row) => row.documents as number))], format: '~s' } },
        y: { field: 'us', type: 'quantitative', title: 'µs per document', scale: { zero: true } },
        color: { field: options.series, type: 'nominal', title: null, sort: options.seriesOrder },
      },
    },
  } as TopLevelSpec;
}

function readChart(results: readonly BenchResult[]): TopLevelSpec | undefined {
  const data = byBenchmark<ReadFigures>(results, 'read').flatMap((result) =>
    result.figures.rows.map((row) => ({ server: result.server.label, what: `${row.operation}, ${row.documents}`, ratio: row.ratio })));
  if (data.length === 0) return undefined;
  return ratioBars({
    title: title('Reads through versioned() against the raw driver', 'time ratio, lower is better; target <= 1.10 on latest-version documents'),
    data, category: 'what', value: 'ratio', axis: 'wrapper time / raw driver time',
    rules: [{ at: 1, label: '' }, { at: 1.1, label: 'target 1.10' }],
  });
}

function sweepRatioChart(results: readonly BenchResult[]): TopLevelSpec | undefined {
  const data = byBenchmark<SweepFigures>(results, 'sweep').flatMap((result) => [
    { server: result.server.label, what: 'sweep() / hand-written cursor + bulkWrite', ratio: result.figures.sweepVsHandWritten },
    { server: result.server.label, what: 'sweep() / the same loop in _id order', ratio: result.figures.sweepVsSorted },
  ]);
  if (data.length === 0) return undefined;
  return ratioBars({
    title: title('Sweep throughput against the hand-written bulk loop', 'throughput ratio, higher is better'),
    data, category: 'what', value: 'ratio', axis: "sweep() throughput / the loop's",
    rules: [{ at: 0.95, label: 'target 0.95' }, { at: 1, label: '' }],
  });
}

function sweepCostChart(results: readonly BenchResult[]): TopLevelSpec | undefined {
  const series = ['hand-written loop', 'sweep()', 'sweep() dry run (no writes)'];
  const data = byBenchmark<SweepFigures>(results, 'sweep').flatMap((result) =>
    result.figures.scale.flatMap((row) => [
      { server: result.server.label, run: series[0] as string, documents: row.documents, us: row.baselineUsPerDoc },
      { server: result.server.label, run: series[1] as string, documents: row.documents, us: row.sweepUsPerDoc },
      ...(row.dryRunUsPerDoc === undefined ? [] : [{ server: result.server.label, run: series[2] as string, documents: row.documents, us: row.dryRunUsPerDoc }]),
    ]));
  if (data.length === 0) return undefined;
  return costLines({ title: title('Sweep: cost per document against N', 'rename upcaster, batch 500, unthrottled; flat is what a keyset sweep should be'), data, series: 'run', seriesOrder: series });
}

function serverSweepCostChart(results: readonly BenchResult[]): TopLevelSpec | undefined {
  const series = ['one updateMany with the pipeline', "sweep({ mode: 'server' })", "sweep({ mode: 'client' })"];
  const data = byBenchmark<ServerSweepFigures>(results, 'server-sweep').flatMap((result) =>
    result.figures.sizes.flatMap((row) => [row.updateManyMs, row.serverSweepMs, row.clientSweepMs].map((ms, index) => ({ server: result.server.label, run: series[index] as string, documents: row.documents, us: (ms * 1000) / row.documents }))));
  if (data.length === 0) return undefined;
  return costLines({ title: title('Server-side sweep: cost per document against N', 'rename + add + convert with upExpr, batch 500'), data, series: 'run', seriesOrder: series });
}

function peersReadChart(results: readonly BenchResult[]): TopLevelSpec | undefined {
  const data = byBenchmark<PeersFigures>(results, 'peers').flatMap((result) =>
    result.figures.reads.filter((row) => !row.contender.startsWith('mongo-molt')).map((row) => ({ server: result.server.label, what: `${row.documents.replace(/ \(.*\)$/, '')}: ${shortContender(row.contender)}`, ratio: row.findX })));
  if (data.length === 0) return undefined;
  return ratioBars({
    title: title('Peers: find of 10,000 documents, time against mongo-molt', 'above 1.00 is slower than mongo-molt; target >= 2x for mongoose on stale documents'),
    data, category: 'what', value: 'ratio', axis: "contender's time / mongo-molt's",
    rules: [{ at: 1, label: 'mongo-molt' }, { at: 2, label: 'target 2x' }],
  });
}

/** `mongoose 9 hydrated + post('init') migration` -> `mongoose hydrated + post('init')`: the chart's labels are short. */
function shortContender(name: string): string {
  return name.replace(/ \(.*\)$/, '').replace('mongoose 9', 'mongoose').replace(' migration', '').replace(' the same function', ' function');
}

function peersMigrationChart(results: readonly BenchResult[]): TopLevelSpec | undefined {
  const data = byBenchmark<PeersFigures>(results, 'peers').flatMap((result) =>
    result.figures.migration.rows.map((row) => ({ server: result.server.label, what: row.run.replace(/ \(.*\)$/, '').replace(/, batch 500$/, '').replace('migrate-mongo up: ', 'migrate-mongo: ').replace(/\(updateOne.*$/, '').replace(' with an update pipeline', ' (pipeline)'), ratio: row.xSweep })));
  if (data.length === 0) return undefined;
  return ratioBars({
    title: title('Peers: full-collection migration, throughput against sweep()', 'the eager scripts skip compare-and-swap, validation, checkpoints and leases'),
    data, category: 'what', value: 'ratio', axis: "throughput / sweep()'s",
    rules: [{ at: 1, label: 'sweep()' }],
  });
}

function reliabilityChart(results: readonly BenchResult[]): TopLevelSpec | undefined {
  const data = byBenchmark<ReliabilityFigures>(results, 'reliability').flatMap((result) =>
    result.figures.rows.map((row) => ({ server: result.server.label, what: row.what, exercised: row.exercised, label: `${row.exercised.toLocaleString('en-US')} ${row.unit}, lost ${row.lost}` })));
  if (data.length === 0) return undefined;
  const y = { field: 'what', type: 'nominal', title: null, sort: [...new Set(data.map((row) => row.what))] } as const;
  // symlog: the figures span 20 to 10,000, and a bar must start at 0.
  const x = { field: 'exercised', type: 'quantitative', title: 'exercised (symmetric log scale)', scale: { type: 'symlog' }, axis: { values: [0, 10, 100, 1000, 10000] as number[], format: ',d' } } as const;
  const servers = serverScale(data);
  const yOffset = { field: 'server', type: 'nominal', sort: servers.domain } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: title('Reliability suite: what each part exercised, and what was lost', 'npm run test:reliability at full size; lost must be 0 everywhere'),
    width: 300,
    config: CONFIG,
    data: { values: data },
    layer: [
      { mark: { type: 'bar', height: { band: 0.7 } }, encoding: { y, x, yOffset, color: { field: 'server', type: 'nominal', title: null, scale: servers } } },
      { mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 }, encoding: { y, x, yOffset, text: { field: 'label' } } },
    ],
  } as TopLevelSpec;
}

/** Each chart: its file name and how it is drawn from the results (nothing when no result feeds it). */
const CHARTS: readonly (readonly [string, (results: readonly BenchResult[]) => TopLevelSpec | undefined])[] = [
  ['read-ratios.svg', readChart],
  ['sweep-ratios.svg', sweepRatioChart],
  ['sweep-cost-per-document.svg', sweepCostChart],
  ['server-sweep-cost-per-document.svg', serverSweepCostChart],
  ['peers-reads.svg', peersReadChart],
  ['peers-migration.svg', peersMigrationChart],
  ['reliability.svg', reliabilityChart],
];

export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

/** The file name and spec of every chart that `results` feed. */
export function chartSpecs(results: readonly BenchResult[]): [string, TopLevelSpec][] {
  return CHARTS.flatMap(([name, draw]): [string, TopLevelSpec][] => {
    const spec = draw(results);
    return spec === undefined ? [] : [[name, spec]];
  });
}

/** Draws every chart that has results into `charts/`; a file whose content would not change is left alone. Returns the files written. */
export async function renderCharts(): Promise<string[]> {
  const dir = join(outputDir(), 'charts');
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, spec] of chartSpecs(readResults())) {
    const path = join(dir, name);
    const svg = await toSvg(spec);
    let before: string | undefined;
    try {
      before = readFileSync(path, 'utf8');
    } catch {
      before = undefined;
    }
    if (before === svg) continue;
    writeFileSync(path, svg);
    written.push(path);
  }
  return written;
}
