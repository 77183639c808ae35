/**
 * Quitting while jobs train: ask first; on yes, pause every running job with a checkpoint
 * (Lab.close) and only then quit. The electron surface is injected so this is testable.
 */
export interface QuitDeps {
  runningJobs(): number;
  /** true: pause and quit; false: keep running */
  confirmQuit(running: number): boolean;
  pauseAndClose(): Promise<void>;
  quit(): void;
}

export function beforeQuitHandler(deps: QuitDeps): (event: { preventDefault(): void }) => void {
  let closing = false;
  let closed = false;
  return (event) => {
    if (closed) return; // the second quit, after closing: let it through
    event.preventDefault();
    if (closing) return;
    const running = deps.runningJobs();
    if (running > 0 && !deps.confirmQuit(running)) return;
    closing = true;
    void deps.pauseAndClose().finally(() => {
      closed = true;
      deps.quit();
    });
  };
}
