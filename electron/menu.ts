import type { MenuItemConstructorOptions } from 'electron';

export interface MenuActions {
  go(route: string): void;
  importDataset(): void;
  exportResults(): void;
  openDataFolder(): void;
  about(): void;
}

/** The native menus: File, Edit, View, Help (macOS gets the app menu first). */
export function menuTemplate(actions: MenuActions, isMac: boolean): MenuItemConstructorOptions[] {
  return [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'New Experiment', accelerator: 'CmdOrCtrl+N', click: () => actions.go('new') },
        { label: 'Import Dataset…', accelerator: 'CmdOrCtrl+I', click: actions.importDataset },
        { label: 'Export Results…', accelerator: 'CmdOrCtrl+E', click: actions.exportResults },
        { type: 'separator' },
        { label: 'Open Data Folder', click: actions.openDataFolder },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        {
          label: 'Experiments',
          accelerator: 'CmdOrCtrl+1',
          click: () => actions.go('experiments'),
        },
        { label: 'Monitor', accelerator: 'CmdOrCtrl+2', click: () => actions.go('monitor') },
        { label: 'Compare', accelerator: 'CmdOrCtrl+3', click: () => actions.go('compare') },
        { label: 'Datasets', accelerator: 'CmdOrCtrl+4', click: () => actions.go('datasets') },
        { type: 'separator' },
        { role: 'reload' },
        { role: 'toggleDevTools' },
        { role: 'togglefullscreen' },
      ],
    },
    {
      role: 'help',
      submenu: [{ label: 'Versions and Backend', click: actions.about }],
    },
  ];
}
