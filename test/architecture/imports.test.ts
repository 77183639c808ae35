import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The import graph of src/, renderer/src and electron/, read from the source text (every
 * `import … from`, `export … from` and `import()` of a relative path, types included):
 * no cycles, and each folder of src/ imports only the folders the layering allows
 * (DESIGN.md: dependencies point down).
 */

const ROOT = path.resolve(__dirname, '../..');
const ROOTS = ['src', 'renderer/src', 'electron'];
const SOURCE = /\.(ts|tsx|mts|mjs)$/;
const IMPORT =
  /(?:^|[\s;}])(?:import|export)\s[^'"`;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** What each folder of src/ may import, besides itself. */
const ALLOWED: Record<string, string[]> = {
  core: [],
  api: ['core'],
  data: ['core'],
  engine: ['core', 'data'],
  pruning: ['core', 'data', 'engine'],
  store: ['core', 'pruning'],
  export: ['core', 'api', 'engine', 'pruning'],
  jobs: ['core', 'api', 'data', 'engine', 'pruning', 'store'],
  /** compute targets beyond the local pool (Slurm): submit, watch and run jobs elsewhere */
  cluster: ['core', 'api', 'data', 'engine', 'pruning', 'store', 'jobs'],
  services: ['core', 'api', 'data', 'engine', 'pruning', 'store', 'export', 'jobs', 'cluster'],
  server: ['core', 'api', 'services'],
  cli: ['core', 'api', 'services', 'server', 'cluster'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory())
      return e.name === 'node_modules' || e.name === 'dist' ? [] : sourceFiles(p);
    return SOURCE.test(e.name) ? [p] : [];
  });
}

/** file (relative to the repository) → the files it imports */
function importGraph(text: (file: string) => string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of ROOTS.flatMap((r) => sourceFiles(path.join(ROOT, r)))) {
    const rel = path.relative(ROOT, file);
    const targets: string[] = [];
    for (const m of text(file).matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      targets.push(path.relative(ROOT, path.resolve(path.dirname(file), spec)));
    }
    graph.set(rel, targets);
  }
  return graph;
}

/** Every cycle's files, as one path around it per strongly connected component. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const selfLoop = (graph.get(v) ?? []).includes(v);
      if (component.length > 1 || selfLoop) components.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return components;
}

const folderOf = (file: string) =>
  file.startsWith('src/') && file.split('/').length > 2 ? file.split('/')[1]! : null;

describe('the import graph', () => {
  const graph = importGraph((f) => readFileSync(f, 'utf8'));

  it('is read from the sources (a sample of known edges)', () => {
    expect(graph.get('src/jobs/execute.ts')).toContain('src/jobs/methods/registry.ts');
    expect(graph.get('renderer/src/App.tsx')).toContain('renderer/src/views/Ticket.tsx');
    expect(graph.size).toBeGreaterThan(100);
  });

  it('has no cycles', () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it('finds a cycle where there is one', () => {
    const cyclic = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(findCycles(cyclic)).toEqual([['a', 'b', 'c']]);
  });

  it('points down: each folder of src/ imports only the folders below it', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      const from = folderOf(file);
      if (!from) continue;
      const allowed = ALLOWED[from];
      if (!allowed) {
        wrong.push(`${file}: src/${from} has no row in the layering table`);
        continue;
      }
      for (const target of targets) {
        const to = folderOf(target);
        if (to && to !== from && !allowed.includes(to)) wrong.push(`${file} → ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('keeps the contract free of engine and pruning code', () => {
    const reached = new Set<string>();
    const walk = (f: string) => {
      if (reached.has(f)) return;
      reached.add(f);
      for (const t of graph.get(f) ?? []) walk(t);
    };
    for (const f of graph.keys()) if (f.startsWith('src/api/')) walk(f);
    expect([...reached].filter((f) => !/^src\/(api|core)\//.test(f))).toEqual([]);
  });
});
