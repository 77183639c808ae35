import { useEffect, useState } from 'react';
import { connection } from './api.ts';
import { useClient } from './hooks.ts';
import { go } from './lib/route.ts';
import { ComparePage } from './views/Compare.tsx';
import { DatasetsPage } from './views/Datasets.tsx';
import { ExperimentPage } from './views/Experiment.tsx';
import { ExperimentsPage } from './views/Experiments.tsx';
import { GenealogyPage } from './views/Genealogy.tsx';
import { MonitorPage } from './views/Monitor.tsx';
import { NewExperimentPage } from './views/NewExperiment.tsx';
import { SettingsPage } from './views/Settings.tsx';
import { SweepPage, SweepsPage } from './views/Sweeps.tsx';
import { TicketPage } from './views/Ticket.tsx';
import { TransferPage } from './views/Transfer.tsx';

/** Hash routes work from a custom protocol too, and leave the query string alone. */
function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

const NAV: [string, string, string][] = [
  ['experiments', 'Experiments', 'e'],
  ['new', 'New experiment', 'n'],
  ['monitor', 'Monitor', 'm'],
  ['sweeps', 'Sweeps', 'w'],
  ['compare', 'Compare', 'c'],
  ['transfer', 'Transfer', 't'],
  ['datasets', 'Datasets', 'd'],
  ['settings', 'Settings', 's'],
];

type Theme = 'system' | 'light' | 'dark';

/** Follows the system theme live unless the user picked one (remembered). */
function useTheme(): [Theme, (t: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(
    () => (localStorage.getItem('ticketlab.theme') as Theme | null) ?? 'system',
  );
  useEffect(() => {
    const media = matchMedia('(prefers-color-scheme: dark)');
    const apply = () =>
      (document.documentElement.dataset.theme =
        theme === 'system' ? (media.matches ? 'dark' : 'light') : theme);
    apply();
    localStorage.setItem('ticketlab.theme', theme);
    media.addEventListener('change', apply);
    return () => media.removeEventListener('change', apply);
  }, [theme]);
  return [theme, setTheme];
}

/** Pages by route; experiment and ticket pages are reached from the lists. */
const TITLES: Record<string, string> = {
  ...Object.fromEntries(NAV.map(([path, label]) => [path, label])),
  experiment: 'Experiment',
  genealogy: 'Genealogy',
  ticket: 'Ticket',
  sweep: 'Sweep',
};

/** Pages about one thing, which name it in the tab themselves (useTitle) once it is loaded. */
const NAMED_BY_PAGE = new Set(['experiment', 'genealogy', 'ticket', 'sweep']);

/** Typing `?` in a field is text, not a request for help. */
const isTyping = (t: EventTarget | null) =>
  t instanceof HTMLElement &&
  (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));

/**
 * A banner while the server cannot be reached, gone as soon as it answers again. One event
 * stream stays open for the app's lifetime, so a server that went away is noticed on every
 * page, not only on those that listen for events.
 */
function ConnectionBanner() {
  const client = useClient();
  const [up, setUp] = useState(connection.up);
  useEffect(() => {
    const listener = (u: boolean) => setUp(u);
    connection.listeners.add(listener);
    setUp(connection.up);
    return () => void connection.listeners.delete(listener);
  }, []);
  useEffect(() => client.subscribe(() => {}), [client]);
  useEffect(() => {
    if (up) return;
    // the stream retries by itself; a call every 2 s also notices the server back
    const timer = setInterval(() => void client.call('system.info', {}).catch(() => {}), 2000);
    return () => clearInterval(timer);
  }, [up, client]);
  if (up) return null;
  return (
    <div className="banner" role="alert">
      The TicketLab server is not answering. Reconnecting… Changes made now may not be saved.
    </div>
  );
}

function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  return (
    <div className="overlay" onClick={onClose}>
      <div
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-label="Keyboard shortcuts"
        onClick={(e) => e.stopPropagation()}
      >
        <h2>Keyboard shortcuts</h2>
        <table>
          <tbody>
            {NAV.map(([path, label, key]) => (
              <tr key={path}>
                <td>
                  <kbd>Alt</kbd>+<kbd>{key.toUpperCase()}</kbd>
                </td>
                <td>{label}</td>
              </tr>
            ))}
            <tr>
              <td>
                <kbd>?</kbd>
              </td>
              <td>This help</td>
            </tr>
            <tr>
              <td>
                <kbd>Esc</kbd>
              </td>
              <td>Close it</td>
            </tr>
            <tr>
              <td>
                <kbd>Ctrl</kbd>/<kbd>⌘</kbd>+scroll
              </td>
              <td>Zoom the lineage tree</td>
            </tr>
            <tr>
              <td>
                <kbd>Tab</kbd>, <kbd>Enter</kbd>
              </td>
              <td>Move through the lineage tree's tickets, open one</td>
            </tr>
          </tbody>
        </table>
        <p className="muted">On macOS, Alt is the Option key.</p>
        <button autoFocus onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}

export function App() {
  const [page = 'experiments', id] = useRoute();
  const [theme, setTheme] = useTheme();
  const [help, setHelp] = useState(false);
  const known = page in TITLES;
  useEffect(() => {
    if (!NAMED_BY_PAGE.has(page))
      document.title = `${known ? TITLES[page] : 'Not found'}${id ? ` ${id}` : ''} — TicketLab`;
  }, [page, id, known]);
  useEffect(() => {
    // Alt+letter jumps to a page (shown in each link's title). By key code: on macOS,
    // Option turns e.key into another character (Option+E is a dead key).
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setHelp(false);
      if (e.key === '?' && !e.ctrlKey && !e.metaKey && !e.altKey && !isTyping(e.target)) {
        e.preventDefault();
        setHelp((h) => !h);
      }
      if (!e.altKey) return;
      const hit = NAV.find(([, , key]) => e.code === `Key${key.toUpperCase()}`);
      if (hit) {
        e.preventDefault();
        go(hit[0]);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return (
    <div className="app">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">TicketLab</div>
        {NAV.map(([path, label, key]) => (
          <a
            key={path}
            href={`#/${path}`}
            className={
              page === path ||
              (path === 'experiments' && (page === 'experiment' || page === 'genealogy')) ||
              (path === 'sweeps' && page === 'sweep')
                ? 'active'
                : ''
            }
            title={`${label} (Alt+${key.toUpperCase()})`}
          >
            {label}
          </a>
        ))}
        <button className="link shortcuts" onClick={() => setHelp(true)}>
          Keyboard shortcuts (?)
        </button>
        <label className="theme">
          Theme{' '}
          <select
            value={theme}
            onChange={(e) => setTheme(e.target.value as Theme)}
            aria-label="Theme"
          >
            <option value="system">System</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
          </select>
        </label>
      </nav>
      <main>
        <ConnectionBanner />
        {page === 'experiments' && <ExperimentsPage />}
        {page === 'experiment' && id && <ExperimentPage id={id} />}
        {page === 'genealogy' && id && <GenealogyPage key={id} id={id} />}
        {page === 'ticket' && id && <TicketPage id={id} />}
        {page === 'new' && <NewExperimentPage />}
        {page === 'monitor' && <MonitorPage />}
        {page === 'sweeps' && <SweepsPage />}
        {page === 'sweep' && id && <SweepPage id={id} />}
        {/* Keyed by the route: a deep link followed while on the page starts it anew. */}
        {page === 'compare' && <ComparePage key={id ?? ''} initial={id?.split(',') ?? []} />}
        {page === 'transfer' && <TransferPage key={id ?? ''} ticketId={id} />}
        {page === 'datasets' && <DatasetsPage />}
        {page === 'settings' && <SettingsPage />}
        {!known && (
          <section>
            <h1>Not found</h1>
            <p>
              There is no page <code>#/{[page, id].filter(Boolean).join('/')}</code>.{' '}
              <a href="#/experiments">Experiments</a> lists everything stored.
            </p>
          </section>
        )}
      </main>
      {help && <ShortcutsHelp onClose={() => setHelp(false)} />}
    </div>
  );
}
