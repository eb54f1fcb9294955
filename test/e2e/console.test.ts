/**
 * The admin console in real headless Chromium (docs/console.md): served by the local gateway under
 * its CSP, acting as local principals, every figure checked against the management API itself.
 * Each check saves a screenshot (test-results/console/) and runs axe-core on the view.
 */
import type { Page } from 'playwright-core';
import type { ApiKey, IssuedKey, Organization, Overview } from '../../console/src/api';
import { CONSOLE_CSP } from '../../local/console';
import { type ConsoleHarness, screenshot, seriousViolations, startConsoleHarness } from '../support/browser';
import { apiAs, until } from '../support/console-api';
import { send } from '../support/local-stack';

let h: ConsoleHarness;

beforeAll(async () => {
  h = await startConsoleHarness();
});
afterAll(async () => {
  await h?.stop();
});

const admin = () => apiAs(h.stack, 'super-admin');

async function inAcme(page: Page, view: string) {
  await page.getByLabel('Organization').selectOption('acme');
  await page.getByRole('link', { name: view, exact: true }).click();
}

async function expectAccessible(page: Page) {
  expect(await seriousViolations(page)).toEqual([]);
}

const rowOf = (page: Page, name: string) => page.locator('table.registry tbody tr', { hasText: name });

it('serves the console under its CSP, and the local principals only to a loopback Host', async () => {
  const index = await send(h.stack.url, {
    path: '/console/',
    headers: { host: `127.0.0.1:${h.stack.port}` },
  });
  expect(index.status).toBe(200);
  expect(index.headers['content-security-policy']).toBe(CONSOLE_CSP);
  expect(index.headers['x-frame-options']).toBe('DENY');
  expect(index.headers['referrer-policy']).toBe('no-referrer');
  expect(index.headers['x-content-type-options']).toBe('nosniff');
  expect(index.text).not.toMatch(/<script>|\sstyle=|\son[a-z]+=/);
  const redirect = await send(h.stack.url, { path: '/console' });
  expect(redirect.status).toBe(308);
  expect(redirect.headers.location).toBe('/console/');

  const principals = await send(h.stack.url, {
    path: '/console/local-principals.json',
    headers: { host: `localhost:${h.stack.port}`, origin: 'http://evil.example' },
  });
  expect(principals.status).toBe(200);
  expect(principals.headers['access-control-allow-origin']).toBeUndefined();
  expect(principals.json<{ principals: { name: string }[] }>().principals.map((p) => p.name)).toContain(
    'org-owner',
  );
  // A rebinding page sends its own name as Host.
  const rebound = await send(h.stack.url, {
    path: '/console/local-principals.json',
    headers: { host: `evil.example:${h.stack.port}` },
  });
  expect(rebound.status).toBe(403);
  expect(rebound.text).not.toContain('secret_access_key');
  const config = await send(h.stack.url, {
    path: '/console/config.json',
    headers: { host: `localhost:${h.stack.port}` },
  });
  expect(config.json()).toEqual({
    mode: 'local',
    region: 'us-east-1',
    apiBaseUrl: `http://localhost:${h.stack.port}/`,
    principalsUrl: 'local-principals.json',
  });
  expect((await send(h.stack.url, { path: '/console/../credentials.json' })).status).toBe(404);
});

it('shows overview counts equal to the API’s, per environment and module', async () => {
  const api = admin();
  await api.request('POST', '/v1/api-keys', {
    body: {
      name: 'overview prod',
      scopes: ['agents:execute'],
      environment: 'production',
      organization_id: 'acme',
      expires_in_days: 30,
    },
  });
  const gone = await api.request<ApiKey>('POST', '/v1/api-keys', {
    body: { name: 'overview revoked', scopes: ['workflows:read'], organization_id: 'acme' },
  });
  await api.request('DELETE', `/v1/api-keys/${gone.id}`);
  const expected = await until(
    () => api.request<Overview>('GET', '/v1/api-keys/overview', { query: { organization_id: 'acme' } }),
    (o) => o.keys.total >= 2 && o.keys.revoked >= 1,
    'the overview counting both keys',
  );
  const { context, page } = await h.open('super-admin');
  await inAcme(page, 'Overview');
  const card = (id: string) => page.locator(`[data-metric=${id}] .card-value`);
  await card('total').waitFor();
  for (const id of ['total', 'active', 'expired', 'revoked'] as const) {
    expect(Number(await card(id).textContent())).toBe(expected.keys[id]);
  }
  const prod = page.locator('tr[data-environment=production] td');
  expect(Number(await prod.nth(0).textContent())).toBe(expected.by_environment.production?.total);
  const agents = page.locator('tr[data-module=agents] td');
  expect(Number(await agents.nth(0).textContent())).toBe(
    expected.by_module.find((m) => m.module === 'agents')?.key_count,
  );
  await screenshot(page, 'overview');
  await expectAccessible(page);
  await context.close();
});

it('creates a key and shows its token once: never stored, gone after a reload', async () => {
  const { context, page } = await h.open('super-admin');
  await inAcme(page, 'Keys');
  await page.getByRole('button', { name: 'Create key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create API key' });
  await dialog.getByLabel('Key name').fill('Agents pipeline executor');
  await dialog.getByLabel('Module scope').selectOption('agents');
  await dialog.getByLabel('execute', { exact: false }).first().check();
  await dialog.getByLabel('60 days').check();
  await dialog.getByLabel('Environment').selectOption('sandbox');
  await dialog.getByLabel(/IP restrictions/).fill('203.0.113.0/24');
  await expectAccessible(page);
  await dialog.getByRole('button', { name: 'Create key' }).click();

  const panel = page.getByRole('dialog', { name: /Key created/ });
  const token = await panel.locator('[data-secret=token]').inputValue();
  expect(token).toMatch(/^sk_sbx_/);
  await screenshot(page, 'create-key');
  await expectAccessible(page);
  // The key exists as asked, and its token is the one shown.
  const record = await admin().request<ApiKey>('GET', `/v1/api-keys/${token.split('_')[2]}`);
  expect(record).toMatchObject({
    name: 'Agents pipeline executor',
    environment: 'sandbox',
    organization_id: 'acme',
    ip_allowlist: ['203.0.113.0/24'],
  });
  expect([...record.scopes].sort()).toEqual(['agents:execute', 'agents:read']);
  const storage = await page.evaluate(
    () => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
  );
  expect(storage).not.toContain(token);

  await panel.getByRole('button', { name: 'I have copied it' }).click();
  await panel.waitFor({ state: 'detached' });
  expect(await page.content()).not.toContain(token);
  await page.reload();
  await rowOf(page, 'Agents pipeline executor').waitFor();
  expect(await page.content()).not.toContain(token);
  await context.close();
});
