/**
 * The campaign's plots (bench/campaign/plots.ts), drawn from its raw results
 * (bench/records/campaign) as standalone SVG files in docs/plots, which BENCHMARKS.md links:
 *
 *   npm run bench:campaign -- --part … && npm run bench:plots && npm run bench:report
 *
 * The folder holds exactly what the records draw: a plot no part draws any more is removed
 * (the report test checks the files against the records).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { plotSvg } from './campaign/plot-svg.tsx';
import { campaignPlots } from './campaign/plots.ts';
import { PARTS } from './campaign/parts.ts';
import { readCampaign } from './campaign/record.ts';
import { RECORDS } from './records.ts';

const PLOTS = join(import.meta.dirname, '..', 'docs', 'plots');
mkdirSync(PLOTS, { recursive: true });
const drawn = new Set<string>();
for (const part of PARTS) {
  for (const plot of campaignPlots(part, readCampaign(RECORDS, part.name))) {
    writeFileSync(join(PLOTS, plot.file), plotSvg(plot));
    drawn.add(plot.file);
    process.stdout.write(`docs/plots/${plot.file}\n`);
  }
}
for (const file of readdirSync(PLOTS).filter((f) => f.endsWith('.svg') && !drawn.has(f))) {
  rmSync(join(PLOTS, file));
  process.stdout.write(`removed docs/plots/${file} (no records draw it)\n`);
}
