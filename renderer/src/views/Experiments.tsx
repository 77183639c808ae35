import { useMemo, useRef, useState } from 'react';
import { go } from '../lib/route.ts';
import { useClient, useDebounced, useLoad, useReloadOn } from '../hooks.ts';
import { listAllExperiments } from '../lib/experiments.ts';
import { pct, when } from '../lib/format.ts';
import { ConfirmDialog } from './Dialog.tsx';

const STATUSES = ['', 'created', 'running', 'paused', 'done', 'failed', 'cancelled', 'interrupted'];
const ROW = 36;

type SortKey = 'createdAt' | 'name' | 'status' | 'minRemainingWeights';

export function ExperimentsPage() {
  const client = useClient();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const [tag, setTag] = useState('');
  const [sort, setSort] = useState<SortKey>('createdAt');
  const [error, setError] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<{ id: string; name: string } | null>(null);
  // a large folder's list is a query per filter: the text fields ask once typing pauses
  const searched = useDebounced(search);
  const tagged = useDebounced(tag);
  const list = useLoad(
    (c) =>
      listAllExperiments(c, {
        search: searched || undefined,
        status: (status || undefined) as never,
        tag: tagged || undefined,
      }),
    [searched, status, tagged],
  );
  useReloadOn(list.reload, (e) => e.type === 'job.state' || e.type === 'ticket.created');
  const items = useMemo(() => {
    const rows = [...(list.data?.items ?? [])];
    rows.sort((a, b) => {
      if (sort === 'createdAt') return b.createdAt.localeCompare(a.createdAt);
      if (sort === 'minRemainingWeights')
        return (a.minRemainingWeights ?? 2) - (b.minRemainingWeights ?? 2);
      return String(a[sort]).localeCompare(String(b[sort]));
    });
    return rows;
  }, [list.data, sort]);

  // Virtualised rows: only the visible window is in the DOM.
  const [scrollTop, setScrollTop] = useState(0);
  const viewport = useRef<HTMLDivElement>(null);
  const height = viewport.current?.clientHeight ?? 600;
  const first = Math.max(0, Math.floor(scrollTop / ROW) - 5);
  const visible = items.slice(first, first + Math.ceil(height / ROW) + 10);

  const act = async (f: () => Promise<unknown>) => {
    try {
      setError(null);
      await f();
      list.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <section>
      <h1>Experiments</h1>
      <div className="toolbar">
        <input
          className="search"
          placeholder="Search name, model, dataset…"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          aria-label="Search experiments"
        />
        <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="Status">
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s || 'any status'}
            </option>
          ))}
        </select>
        <input
          placeholder="tag"
          value={tag}
          onChange={(e) => setTag(e.target.value)}
          aria-label="Tag"
        />
        <select
          value={sort}
          onChange={(e) => setSort(e.target.value as SortKey)}
          aria-label="Sort by"
        >
          <option value="createdAt">newest first</option>
          <option value="name">name</option>
          <option value="status">status</option>
          <option value="minRemainingWeights">fewest weights</option>
        </select>
        <span className="muted">{list.data ? `${list.data.total} experiments` : ''}</span>
      </div>
      {(error ?? list.error) && <p className="error">{error ?? list.error}</p>}
      {list.data && list.data.total === 0 && !search && !status && !tag ? (
        <div className="empty">
          <p>No experiments yet.</p>
          <p>
            <a href="#/new">Create one from a template</a> — LeNet-300-100 IMP on the built-in MNIST
            runs in a few minutes.
          </p>
        </div>
      ) : (
        <div className="table" role="table" aria-label="Experiments">
          <div className="tr th" role="row">
            <span>name</span>
            <span>status</span>
            <span>method</span>
            <span>model</span>
            <span>dataset</span>
            <span>levels</span>
            <span title="the lowest remaining weights of its tickets">weights left</span>
            <span title="test accuracy of the ticket with the fewest weights">accuracy</span>
            <span>tags</span>
            <span>created</span>
            <span />
          </div>
          <div
            className="viewport"
            ref={viewport}
            onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
          >
            <div style={{ height: items.length * ROW, position: 'relative' }}>
              {visible.map((e, i) => (
                <div
                  key={e.id}
                  className="tr"
                  role="row"
                  style={{ position: 'absolute', top: (first + i) * ROW, height: ROW }}
                >
                  <a href={`#/experiment/${e.id}`} title={e.notes || e.name}>
                    {e.name}
                  </a>
                  <span className={`status ${e.status}`}>{e.status}</span>
                  <span>{e.method}</span>
                  <span>{e.model}</span>
                  <span title={e.dataset}>{e.datasetName}</span>
                  <span>{e.levels}</span>
                  <span>{pct(e.minRemainingWeights)}</span>
                  <span>{pct(e.accuracyAtMinRemaining, 2)}</span>
                  <span>{e.tags.join(', ')}</span>
                  <span>{when(e.createdAt)}</span>
                  <span className="actions">
                    <button
                      onClick={() =>
                        act(async () => {
                          const copy = await client.call('experiments.duplicate', { id: e.id });
                          go(`experiment/${copy.id}`);
                        })
                      }
                    >
                      Duplicate
                    </button>
                    <button
                      className="danger"
                      onClick={() => setDeleting({ id: e.id, name: e.name })}
                    >
                      Delete
                    </button>
                  </span>
                </div>
              ))}
            </div>
          </div>
        </div>
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete "${deleting.name}"?`}
          message="Its tickets, runs and metrics go with it. This cannot be undone."
          confirmLabel="Delete"
          onConfirm={() => void act(() => client.call('experiments.delete', { id: deleting.id }))}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}
