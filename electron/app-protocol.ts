import { extname, join, normalize, resolve, sep } from 'node:path';
import { isAppUrl } from './security.ts';

export const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/**
 * The file an app:// request maps to inside the renderer build, or null for anything
 * outside it (traversal, other origins, missing extension types). `/` is index.html.
 */
export function resolveAppFile(url: string, root: string): { path: string; type: string } | null {
  if (!isAppUrl(url)) return null;
  const pathname = decodeURIComponent(new URL(url).pathname);
  const path = normalize(join(root, pathname === '/' ? 'index.html' : pathname));
  if (!path.startsWith(resolve(root) + sep)) return null;
  const type = MIME[extname(path)];
  return type ? { path, type } : null;
}
