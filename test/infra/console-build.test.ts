/**
 * The console's build (console/build.ts): within its JavaScript budget (200 KB gzipped, the build
 * throws above it), and nothing the console's CSP would block: no inline script, no inline style,
 * no inline event handler, nothing loaded from another origin.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConsole, CONSOLE_JS_BUDGET_BYTES } from '../../console/build';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-console-build-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('builds within the JavaScript budget, with nothing the CSP would block', () => {
  const built = buildConsole(dir);
  expect(built.gzippedJsBytes).toBeGreaterThan(10_000);
  expect(built.gzippedJsBytes).toBeLessThanOrEqual(CONSOLE_JS_BUDGET_BYTES);
  expect(readdirSync(dir).sort()).toEqual(['app.css', 'app.js', 'index.html', 'styles.css']);
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
  expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  const js = readFileSync(join(dir, 'app.js'), 'utf8');
  // No runtime CDN: the bundle fetches only relative URLs and the configured API.
  expect(js).not.toMatch(/https:\/\/(cdn|unpkg|esm\.sh|cdnjs)/);
});
