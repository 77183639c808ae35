import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface WindowState {
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export const DEFAULT_WINDOW: WindowState = { width: 1280, height: 860, maximized: false };

/** The last window bounds, or the default when the file is missing or damaged. */
export function loadWindowState(file: string): WindowState {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as Partial<WindowState>;
    const ok = (n: unknown) => typeof n === 'number' && Number.isFinite(n);
    if (!ok(s.width) || !ok(s.height) || s.width! < 400 || s.height! < 300) return DEFAULT_WINDOW;
    return {
      ...(ok(s.x) && ok(s.y) ? { x: s.x, y: s.y } : {}),
      width: s.width!,
      height: s.height!,
      maximized: s.maximized === true,
    };
  } catch {
    return DEFAULT_WINDOW;
  }
}

/** Written atomically, so a crash mid-write leaves the previous state. */
export function saveWindowState(file: string, state: WindowState): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(state));
  renameSync(`${file}.tmp`, file);
}
