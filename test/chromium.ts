import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, headless, as the browser tests and bench:ui drive it (playwright
 * cannot download browsers here: `apt-get install -y chromium`).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  });
}
