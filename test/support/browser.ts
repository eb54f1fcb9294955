/**
 * Headless Chromium for the console's browser tests (docs/testing.md): Debian's `chromium` driven by
 * playwright-core (browser downloads cannot be fetched here), a fresh profile per run, the console
 * built into a temporary directory and served by a test stack, axe-core injected through CDP (page
 * CSP does not apply to it), and a screenshot per check under `test-results/console/`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildConsole } from '../../console/build';
import type { LocalStack, LocalStackOptions } from '../../local/stack';
import { localWorkers } from '../../local/workers';
import { startTestStack } from './local-stack';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = resolve(__dirname, '../../test-results/console');

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ConsoleHarness {
  readonly stack: LocalStack;
  readonly browser: Browser;
  /** The console's URL on the test stack (`http://127.0.0.1:<port>/console/`). */
  readonly url: string;
  /** A fresh browser context (its own storage) with the given principal chosen. */
  open(principal: string, hash?: string): Promise<{ context: BrowserContext; page: Page }>;
  stop(): Promise<void>;
}

export async function startConsoleHarness(options: LocalStackOptions = {}): Promise<ConsoleHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-console-'));
  buildConsole(dir);
  const stack = await startTestStack({ workers: localWorkers(), consoleDir: dir, ...options });
  // launch + newContext: each context is a fresh, in-memory profile (no user-data-dir is reused).
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  const url = `${stack.url}/console/`;
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    stack,
    browser,
    url,
    async open(principal, hash = '') {
      const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
      // Surfaces CSP violations and app errors in the test output rather than failing silently.
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') console.warn(`[browser] ${m.text()}`);
      });
      page.on('pageerror', (e) => console.warn(`[browser] ${e.message}`));
      await page.goto(`${url}${hash}`);
      await page.getByLabel('Local principal').selectOption(principal);
      await page.locator('nav.tabs').waitFor();
      return { context, page };
    },
    async stop() {
      await browser.close().catch(() => {});
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run: (
            ctx: Document,
          ) => Promise<{ violations: { id: string; impact: string; nodes: { target: unknown }[] }[] }>;
        };
      }
    ).axe;
    const result = await axe.run(document);
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => JSON.stringify(n.target)),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.targets.join(', ')}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
