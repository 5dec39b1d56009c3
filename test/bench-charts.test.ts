import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartSpecs, toSvg } from '../bench/charts.js';
import { readResults } from '../bench/results.js';
import { ROOT } from './fixtures/run-molt.js';

// No server: the charts are drawn from the committed results files alone.
describe('the benchmark charts', () => {
  const charts = chartSpecs(readResults(join(ROOT, 'bench', 'results')));

  it('are drawn from the committed results, every one of them committed as drawn', async () => {
    expect(charts.map(([name]) => name)).toEqual([
      'read-ratios.svg', 'sweep-ratios.svg', 'sweep-cost-per-document.svg', 'server-sweep-cost-per-document.svg',
      'peers-reads.svg', 'peers-migration.svg', 'reliability.svg',
    ]);
    for (const [name, spec] of charts) {
      // A failure here: results changed without `npm run bench -- charts` (or the reverse).
      expect(await toSvg(spec), name).toBe(readFileSync(join(ROOT, 'bench', 'charts', name), 'utf8'));
    }
  });

  it('come out byte-identical from the same results (no date, no counter)', async () => {
    const [name, spec] = charts[0] ?? [];
    expect(name).toBeDefined();
    const svg = await toSvg(spec as NonNullable<typeof spec>);
    expect(await toSvg(spec as NonNullable<typeof spec>)).toBe(svg);
    expect(svg).toMatch(/^<svg /);
    expect(svg).not.toMatch(/\d{4}-\d{2}-\d{2}/);
  });
});
