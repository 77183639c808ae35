/**
 * The desktop app's main process: hosts the Lab (store, scheduler, services), starts
 * compute workers as utility processes, serves the renderer from app://, and exposes the
 * contract over IPC. Bundled to electron/dist/main.mjs (scripts/build-electron.mjs).
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, net, protocol, session, shell } from 'electron';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Lab } from '../src/services/lab.ts';
import { resolveAppFile } from './app-protocol.ts';
import { forwardEvents, registerContract } from './ipc.ts';
import { menuTemplate } from './menu.ts';
import { beforeQuitHandler } from './quit.ts';
import { claimSingleInstance } from './single-instance.ts';
import {
  APP_ORIGIN,
  APP_SCHEME,
  CONTENT_SECURITY_POLICY,
  isAllowedNavigation,
  isSafeExternalUrl,
  secureWebPreferences,
} from './security.ts';
import { utilityWorkerFactory } from './utility-worker.ts';
import { loadWindowState, saveWindowState } from './window-state.ts';

const DIST = import.meta.dirname; // electron/dist: main.mjs, preload.cjs, worker.mjs
const RENDERER = join(DIST, '..', '..', 'renderer', 'dist');

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

const primary = claimSingleInstance(app);

let lab: Lab | null = null;
const windows = () => BrowserWindow.getAllWindows();
const stateFile = () => join(app.getPath('userData'), 'window-state.json');

function openLab(): Lab | null {
  const dataDir = join(app.getPath('userData'), 'data');
  try {
    return Lab.open({
      dataDir,
      runAll: true,
      workerFactory: utilityWorkerFactory(join(DIST, 'worker.mjs')),
    });
  } catch (e) {
    // e.g. a database from a newer TicketLab, or a damaged file: say so, touch nothing.
    dialog.showErrorBox(
      'TicketLab cannot open its data',
      `${(e as Error).message}\n\nData folder: ${dataDir}\nNothing was changed.`,
    );
    return null;
  }
}

function createWindow(): BrowserWindow {
  const state = loadWindowState(stateFile());
  const win = new BrowserWindow({
    ...state,
    show: false,
    title: 'TicketLab',
    webPreferences: secureWebPreferences(join(DIST, 'preload.cjs')),
  });
  if (state.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());
  const remember = () =>
    saveWindowState(stateFile(), { ...win.getNormalBounds(), maximized: win.isMaximized() });
  win.on('close', remember);
  // Navigation stays in the app; new windows never open; http(s) links go to the browser.
  win.webContents.on('will-navigate', (e, url) => {
    if (!isAllowedNavigation(url)) e.preventDefault();
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternalUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  void win.loadURL(`${APP_ORIGIN}/index.html`);
  return win;
}

const go = (route: string) => {
  for (const w of windows()) void w.webContents.executeJavaScript(`location.hash = '#/${route}'`);
};

async function importDataset() {
  const r = await dialog.showOpenDialog({
    title: 'Import dataset (a folder of IDX or CIFAR files)',
    properties: ['openDirectory'],
  });
  if (r.canceled || !lab) return;
  try {
    const d = await lab.invoke('datasets.import', { path: r.filePaths[0]! });
    go('datasets');
    void dialog.showMessageBox({
      message: `Imported ${d.name}: ${d.trainCount} train / ${d.testCount} test.`,
    });
  } catch (e) {
    dialog.showErrorBox('Import failed', (e as Error).message);
  }
}

async function exportResults() {
  if (!lab) return;
  const current = windows()[0];
  const hash = current ? String(await current.webContents.executeJavaScript('location.hash')) : '';
  const id = /#\/experiment\/([^/]+)/.exec(hash)?.[1];
  if (!id) {
    void dialog.showMessageBox({ message: 'Open an experiment first, then export its results.' });
    return;
  }
  // The save dialog asks before replacing a file, so the export may overwrite.
  const r = await dialog.showSaveDialog({
    title: 'Export results as JSON',
    defaultPath: `${id}.json`,
    filters: [{ name: 'JSON', extensions: ['json'] }],
  });
  if (r.canceled || !r.filePath) return;
  try {
    await lab.invoke('experiments.export', { id, format: 'json', path: r.filePath, force: true });
  } catch (e) {
    dialog.showErrorBox('Export failed', (e as Error).message);
  }
}

async function about() {
  if (!lab) return;
  const info = await lab.invoke('system.info', {});
  void dialog.showMessageBox({
    title: 'About TicketLab',
    message: `TicketLab ${info.versions.ticketlab}`,
    detail: [
      `Compute: ${info.backend ?? 'starts with the first job'}${info.device ? ` — ${info.device}` : ''}`,
      `Data: ${info.dataDir}`,
      ...Object.entries(info.versions).map(([k, v]) => `${k}: ${v}`),
      `Electron ${process.versions.electron}, Chromium ${process.versions.chrome}`,
    ].join('\n'),
  });
}

app.on('second-instance', () => {
  const w = windows()[0];
  if (w) {
    if (w.isMinimized()) w.restore();
    w.focus();
  }
});

app.on('web-contents-created', (_, contents) => {
  contents.on('will-attach-webview', (e) => e.preventDefault());
});

app.whenReady().then(() => {
  if (!primary) return; // exiting: never open the database twice
  lab = openLab();
  if (!lab) {
    app.quit();
    return;
  }
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, done) => done(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppFile(request.url, RENDERER);
    if (!file || !existsSync(file.path)) return new Response('Not found', { status: 404 });
    const res = await net.fetch(pathToFileURL(file.path).toString());
    return new Response(res.body, {
      headers: { 'content-type': file.type, 'content-security-policy': CONTENT_SECURITY_POLICY },
    });
  });
  registerContract(ipcMain, lab);
  forwardEvents(
    (listener) => lab!.subscribe(listener),
    () =>
      windows().map((w) => ({
        isDestroyed: () => w.isDestroyed(),
        send: (c, e) => w.webContents.send(c, e),
      })),
  );
  Menu.setApplicationMenu(
    Menu.buildFromTemplate(
      menuTemplate(
        {
          go,
          importDataset: () => void importDataset(),
          exportResults: () => void exportResults(),
          openDataFolder: () => void shell.openPath(lab!.store.dataDir),
          about: () => void about(),
        },
        process.platform === 'darwin',
      ),
    ),
  );
  createWindow();
  app.on('activate', () => {
    if (windows().length === 0) createWindow();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

// Quitting while a job runs asks first, then pauses it with a checkpoint before exit.
app.on(
  'before-quit',
  beforeQuitHandler({
    runningJobs: () => lab?.scheduler.list().filter((j) => j.state === 'running').length ?? 0,
    confirmQuit: (running) =>
      dialog.showMessageBoxSync({
        type: 'question',
        buttons: ['Pause and quit', 'Keep running'],
        defaultId: 0,
        cancelId: 1,
        message: `${running} job${running > 1 ? 's are' : ' is'} training.`,
        detail:
          'Quitting pauses them with a checkpoint; they continue where they stopped next time.',
      }) === 0,
    pauseAndClose: async () => {
      await lab?.close({ pauseRunning: true });
    },
    quit: () => app.quit(),
  }),
);
