export interface InstanceApp {
  requestSingleInstanceLock(): boolean;
  exit(code?: number): void;
}

/**
 * One desktop instance per user: the first owns the data folder. A second one hands over
 * (Electron raises 'second-instance' in the first, which focuses its window) and exits at
 * once: `app.quit()` would let `whenReady` run and open the database a second time.
 */
export function claimSingleInstance(app: InstanceApp): boolean {
  if (app.requestSingleInstanceLock()) return true;
  app.exit(0);
  return false;
}
