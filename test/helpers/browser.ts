// A real browser for the UI tests: Debian's chromium (CHROMIUM_PATH to use another) driven by
// playwright-core, with a fresh profile each time and no network chatter of its own. Missing
// browser: a skip on a developer's machine, a failure under CI=true (cannot-here.ts).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { cannotHere } from './cannot-here.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Undefined when the machine has no chromium (the test was skipped, or failed under CI). */
export async function openBrowser(t: TestContext): Promise<TestBrowser | undefined> {
  if (!existsSync(CHROMIUM)) {
    cannotHere(t, `no browser at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
    return undefined;
  }
  const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
