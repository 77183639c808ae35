/**
 * Where a Node CPU profile's time went (a `node --cpu-prof` file, such as
 * bench/records/gpu-2026-12-04T1824.cpuprofile from scripts/gpu-check.sh's `node` step): the
 * functions with the most self time, then the most inclusive time, in ms and shares of all.
 *
 *   npm run bench:cpuprofile -- FILE [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from '../src/cli/args.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { positionals, options } = parseArgs(process.argv.slice(2), ['top']);
if (!positionals[0]) throw new Error('usage: npm run bench:cpuprofile -- FILE [--top N]');
const top = Number(options.get('top') ?? 25);
const profile = JSON.parse(readFileSync(positionals[0], 'utf8')) as CpuProfile;
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parents = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parents.set(c, n.id);
const name = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber + 1}`;

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const us = profile.timeDeltas[i] ?? 0;
  total += us;
  self.set(name(nodes.get(id)!), (self.get(name(nodes.get(id)!)) ?? 0) + us);
  // each function once per sample, however deep its recursion
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
    const key = name(nodes.get(at)!);
    if (!seen.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    seen.add(key);
  }
});
const table = (title: string, times: Map<string, number>) => [
  '',
  `| ${title} | ms | share |`,
  '| --- | --- | --- |',
  ...[...times]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => `| ${k} | ${(us / 1000).toFixed(0)} | ${((100 * us) / total).toFixed(1)}% |`),
];
console.log(
  [
    `${positionals[0]}: ${(total / 1000).toFixed(0)} ms sampled`,
    ...table('self time', self),
    ...table('inclusive time', inclusive),
  ].join('\n'),
);
