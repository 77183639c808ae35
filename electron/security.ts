/**
 * The desktop shell's security policy as plain functions (tested without Electron). See
 * docs/SECURITY.md for Electron's checklist item by item.
 */

/** The app is served from this origin (a privileged custom scheme, never file://). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'ticketlab';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/** The policy is shared with browser mode (src/core/csp.ts). */
export { CONTENT_SECURITY_POLICY } from '../src/core/csp.ts';

/** webPreferences of every window: isolated, sandboxed, no Node in the renderer. */
export function secureWebPreferences(preload: string) {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    enableBlinkFeatures: '',
    webviewTag: false,
    spellcheck: false,
  } as const;
}

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** True only for the app's own origin, compared as parsed URLs (not string prefixes). */
export function isAppUrl(url: string): boolean {
  const u = parse(url);
  return u !== null && u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
}

/** In-app navigation stays in the app; everything else is blocked. */
export function isAllowedNavigation(url: string): boolean {
  return isAppUrl(url);
}

/** Links that may open in the system browser: http(s) only, no credentials in the URL. */
export function isSafeExternalUrl(url: string): boolean {
  const u = parse(url);
  return (
    u !== null && (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password
  );
}
