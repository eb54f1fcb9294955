/**
 * The admin console in real headless Chromium (docs/console.md): served by the local gateway under
 * its CSP, acting as local principals, every figure checked against the management API itself.
 * Each check saves a screenshot (test-results/console/) and runs axe-core on the view.
 */
import { readFileSync } from 'node:fs';
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
  const storage = String(
    await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })'),
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

it('filters the registry by what the API filters on', async () => {
  const api = admin();
  await api.request('POST', '/v1/api-keys', {
    body: {
      name: 'filter staging key',
      scopes: ['metrics:read'],
      environment: 'staging',
      organization_id: 'acme',
    },
  });
  await api.request('POST', '/v1/api-keys', {
    body: { name: 'filter development key', scopes: ['metrics:read'], organization_id: 'acme' },
  });
  const { context, page } = await h.open('super-admin');
  await inAcme(page, 'Keys');
  await rowOf(page, 'filter development key').waitFor();
  await page.getByLabel('Environment').selectOption('staging');
  await rowOf(page, 'filter development key').waitFor({ state: 'detached' });
  const names = await page.locator('table.registry tbody tr th').allTextContents();
  const expected = await api.request<{ items: ApiKey[] }>('GET', '/v1/api-keys', {
    query: { organization_id: 'acme', environment: 'staging', limit: 20 },
  });
  expect(names.map((n) => n.replace(/staging$/, '').trim())).toEqual(expected.items.map((k) => k.name));
  expect(names.join()).toContain('filter staging key');
  await page.getByLabel('Scope').selectOption('agents:read');
  await page.getByText('No keys match.').waitFor();
  await screenshot(page, 'registry-filtered');
  await expectAccessible(page);
  await context.close();
});

it('exports the filtered registry as the file the API gives, in CSV and JSON', async () => {
  const api = admin();
  await api.request('POST', '/v1/api-keys', {
    body: {
      name: 'export staging key',
      scopes: ['metrics:read'],
      environment: 'staging',
      organization_id: 'acme',
    },
  });
  const { context, page } = await h.open('super-admin');
  await inAcme(page, 'Keys');
  await rowOf(page, 'export staging key').waitFor();
  await page.getByLabel('Environment').selectOption('staging');
  const query = { organization_id: 'acme', environment: 'staging' };

  const [csvDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export CSV' }).click(),
  ]);
  expect(csvDownload.suggestedFilename()).toBe('api-keys-acme.csv');
  const csv = readFileSync(await csvDownload.path(), 'utf8');
  const expectedCsv = await api.raw('GET', '/v1/api-keys/export', { query: { ...query, format: 'csv' } });
  expect(csv).toBe(expectedCsv.text);
  expect(csv).toContain('export staging key');

  const [jsonDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export JSON' }).click(),
  ]);
  const exported = JSON.parse(readFileSync(await jsonDownload.path(), 'utf8')) as { items: ApiKey[] };
  const expectedJson = await api.request<{ items: ApiKey[] }>('GET', '/v1/api-keys/export', {
    query: { ...query, format: 'json' },
  });
  expect(exported.items).toEqual(expectedJson.items);
  expect(exported.items.every((k) => k.environment === 'staging')).toBe(true);
  await screenshot(page, 'registry-export');
  await context.close();
});

it('rotates a key with a grace period, then revokes it after confirmation', async () => {
  const api = admin();
  const created = await api.request<IssuedKey>('POST', '/v1/api-keys', {
    body: { name: 'rotate me', scopes: ['agents:read'], organization_id: 'acme' },
  });
  const { context, page } = await h.open('super-admin');
  await inAcme(page, 'Keys');
  await page.getByRole('button', { name: 'Rotate rotate me' }).click();
  const rotate = page.getByRole('dialog', { name: 'Rotate rotate me' });
  await rotate.getByLabel('Grace period for the current secret').selectOption('3600');
  await expectAccessible(page);
  await rotate.getByRole('button', { name: 'Rotate key' }).click();
  const panel = page.getByRole('dialog', { name: /Key rotated/ });
  const token = await panel.locator('[data-secret=token]').inputValue();
  expect(token).not.toBe(created.key);
  expect(token).toContain(created.id);
  await screenshot(page, 'rotate');
  const rotated = await api.request<ApiKey>('GET', `/v1/api-keys/${created.id}`);
  expect(rotated.rotated_at).not.toBeNull();
  const grace =
    new Date(rotated.previous_key_expires_at ?? 0).getTime() - new Date(rotated.rotated_at ?? 0).getTime();
  expect(grace).toBe(3600_000);
  await panel.getByRole('button', { name: 'I have copied it' }).click();

  await page.getByRole('button', { name: 'Revoke rotate me' }).click();
  const confirm = page.getByRole('dialog', { name: 'Revoke rotate me' });
  await expectAccessible(page);
  await confirm.getByRole('button', { name: 'Revoke key' }).click();
  await rowOf(page, 'rotate me').locator('.badge-revoked').waitFor();
  expect((await api.request<ApiKey>('GET', `/v1/api-keys/${created.id}`)).status).toBe('revoked');
  await screenshot(page, 'revoke');
  await context.close();
});

it('disables and enables a key from its details', async () => {
  const api = admin();
  const created = await api.request<IssuedKey>('POST', '/v1/api-keys', {
    body: { name: 'switch me', scopes: ['agents:read'], organization_id: 'acme' },
  });
  const { context, page } = await h.open('super-admin');
  await inAcme(page, 'Keys');
  await page.getByRole('button', { name: 'Details of switch me' }).click();
  const details = page.getByRole('dialog', { name: 'Key switch me' });
  await details.getByText('admin.api_key_created').waitFor();
  await expectAccessible(page);
  await details.getByRole('button', { name: 'Disable key' }).click();
  await rowOf(page, 'switch me').locator('.badge-disabled').waitFor();
  expect((await api.request<ApiKey>('GET', `/v1/api-keys/${created.id}`)).status).toBe('disabled');
  await page.getByRole('button', { name: 'Details of switch me' }).click();
  await page
    .getByRole('dialog', { name: 'Key switch me' })
    .getByRole('button', { name: 'Enable key' })
    .click();
  await rowOf(page, 'switch me').locator('.badge-active').waitFor();
  expect((await api.request<ApiKey>('GET', `/v1/api-keys/${created.id}`)).status).toBe('active');
  await context.close();
});

it('offers root mode to the super admin and not to the org owner', async () => {
  const owner = await h.open('org-owner');
  await owner.page.locator('.card-value').first().waitFor();
  expect(await owner.page.getByRole('button', { name: 'Enter root mode' }).count()).toBe(0);
  expect(await owner.page.getByLabel('Organization').inputValue()).toBe('acme');
  await screenshot(owner.page, 'root-mode-org-owner');
  await expectAccessible(owner.page);
  await owner.context.close();

  const { context, page } = await h.open('super-admin');
  await page.getByRole('button', { name: 'Enter root mode' }).click();
  const dialog = page.getByRole('dialog', { name: 'Enter root mode' });
  await dialog.getByLabel('Reason').fill('rotate the billing system key');
  await expectAccessible(page);
  await dialog.getByRole('button', { name: 'Enter root mode' }).click();
  await page.locator('.badge-root', { hasText: 'Root mode' }).waitFor();
  const state = await admin().request<{ open: boolean }>('GET', '/v1/root-mode');
  expect(state.open).toBe(true);
  await screenshot(page, 'root-mode-super-admin');
  await page.getByRole('button', { name: 'Leave root mode' }).click();
  await page.getByRole('button', { name: 'Enter root mode' }).waitFor();
  expect((await admin().request<{ open: boolean }>('GET', '/v1/root-mode')).open).toBe(false);
  await context.close();
});

it('shows the caller its role, and hides the controls the role can never use', async () => {
  await admin().request('POST', '/v1/api-keys', {
    body: {
      name: 'role check key',
      scopes: ['agents:read'],
      organization_id: 'acme',
      key_type: 'organization',
    },
  });
  const auditor = await h.open('auditor', '#/keys');
  await rowOf(auditor.page, 'role check key').waitFor();
  expect(await auditor.page.locator('header .badge-role').textContent()).toBe('auditor');
  expect(await auditor.page.getByRole('button', { name: 'Create key' }).count()).toBe(0);
  expect(await auditor.page.getByRole('button', { name: /^(Rotate|Revoke) / }).count()).toBe(0);
  // It still reads: the details are offered, without the switch it may not use.
  await auditor.page.getByRole('button', { name: 'Details of role check key' }).click();
  const details = auditor.page.getByRole('dialog', { name: 'Key role check key' });
  await details.getByRole('heading', { name: 'History' }).waitFor();
  expect(await details.getByRole('button', { name: /^(Enable|Disable) key$/ }).count()).toBe(0);
  await screenshot(auditor.page, 'role-auditor');
  await expectAccessible(auditor.page);
  await auditor.context.close();

  const owner = await h.open('org-owner', '#/keys');
  await rowOf(owner.page, 'role check key').waitFor();
  expect(await owner.page.locator('header .badge-role').textContent()).toBe('org owner');
  await owner.page.getByRole('button', { name: 'Create key' }).waitFor();
  await owner.page.getByRole('button', { name: 'Revoke role check key' }).waitFor();
  await screenshot(owner.page, 'role-org-owner');
  await expectAccessible(owner.page);
  await owner.context.close();

  // A workspace admin creates workspace keys in its own workspaces only, and the dialog offers no more.
  await admin().request('POST', '/v1/organizations/acme/workspaces', {
    body: { workspace_id: 'acme-other', name: 'Other' },
  });
  const wsAdmin = await h.open('workspace-admin', '#/keys');
  expect(await wsAdmin.page.locator('header .badge-role').textContent()).toBe('workspace admin');
  await wsAdmin.page.getByRole('button', { name: 'Create key' }).click();
  const create = wsAdmin.page.getByRole('dialog', { name: 'Create API key' });
  await create.getByLabel('Key name').waitFor(); // evaluateAll below does not wait
  const values = (name: string) =>
    create
      .locator(`select[name=${name}] option`)
      .evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
  expect(await values('key_type')).toEqual(['workspace']);
  expect(await values('workspace')).toEqual(['acme-prod']);
  await create.getByLabel('Key name').fill('workspace admin key');
  await create.getByLabel('Module scope').selectOption('metrics');
  await create.getByLabel('read', { exact: false }).first().check();
  await create.getByRole('button', { name: 'Create key' }).click();
  const panel = wsAdmin.page.getByRole('dialog', { name: /Key created/ });
  const token = await panel.locator('[data-secret=token]').inputValue();
  const made = await admin().request<ApiKey>('GET', `/v1/api-keys/${token.split('_')[2]}`);
  expect(made).toMatchObject({
    name: 'workspace admin key',
    organization_id: 'acme',
    workspace_id: 'acme-prod',
  });
  await screenshot(wsAdmin.page, 'role-workspace-admin');
  await expectAccessible(wsAdmin.page);
  await wsAdmin.context.close();
});

it('says the module is switched off when the organization’s api_keys_enabled is false', async () => {
  const api = admin();
  await api.request('POST', '/v1/organizations', {
    body: { organization_id: 'switched-off', name: 'Switched Off' },
  });
  await api.request('PATCH', '/v1/organizations/switched-off', { body: { api_keys_enabled: false } });
  const org = await api.request<Organization>('GET', '/v1/organizations/switched-off');
  expect(org.api_keys_enabled).toBe(false);
  const { context, page } = await h.open('super-admin', '#/keys');
  await page.getByLabel('Organization').selectOption('switched-off');
  await page.getByRole('heading', { name: /API keys are switched off/ }).waitFor();
  expect(await page.getByRole('button', { name: 'Create key' }).count()).toBe(0);
  expect(await page.getByRole('button', { name: /Rotate|Revoke/ }).count()).toBe(0);
  await screenshot(page, 'module-disabled');
  await expectAccessible(page);
  await context.close();
});

it('has an accessibility check that can fail', async () => {
  const { context, page } = await h.open('super-admin');
  await inAcme(page, 'Overview');
  await page.locator('.card-value').first().waitFor();
  await page.evaluate("document.querySelector('main').append(document.createElement('img'))");
  expect((await seriousViolations(page)).join()).toContain('image-alt');
  await context.close();
});
