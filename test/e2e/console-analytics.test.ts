/**
 * The console's analytics, activity log and policies in headless Chromium (docs/console.md): charts
 * whose data tables equal the API's usage and overview after real calls through the gateway, the
 * activity log showing those events, and a policy applied on the page whose warning the page shows.
 */
import type { Page } from 'playwright-core';
import type { AuditEntry, IssuedKey, Overview, Usage } from '../../console/src/api';
import { type ConsoleHarness, screenshot, seriousViolations, startConsoleHarness } from '../support/browser';
import { fakeDateOnly } from '../support/clock';
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

/** A chart's data table as `{ row label: [values] }`. */
async function chartTable(page: Page, title: string): Promise<Record<string, number[]>> {
  const table = page.locator(`table[data-chart="${title}"]`);
  await table.waitFor({ state: 'attached' });
  const rows = await table
    .locator('tbody tr')
    .evaluateAll((trs) =>
      trs.map((tr) => [
        tr.querySelector('th')?.textContent ?? '',
        [...tr.querySelectorAll('td')].map((td) => Number(td.textContent)),
      ]),
    );
  return Object.fromEntries(rows);
}

let used: IssuedKey;
const CALLS = 3;

it('draws executions per key and the most used keys from real usage', async () => {
  const api = admin();
  used = await api.request<IssuedKey>('POST', '/v1/api-keys', {
    body: { name: 'chart key', scopes: ['agents:read'], organization_id: 'acme' },
  });
  const quiet = await api.request<IssuedKey>('POST', '/v1/api-keys', {
    body: { name: 'quiet key', scopes: ['agents:read'], organization_id: 'acme' },
  });
  const demo = (token: string) =>
    send(h.stack.url, { path: '/demo/agents', headers: { authorization: `Bearer ${token}` } });
  for (let i = 0; i < CALLS; i++) expect((await demo(used.key)).status).toBe(200);
  // Refusals: a wrong secret (401, counted registry-wide only: it names no key the caller proved)
  // and a scope the key lacks (403, counted for the key's organization).
  expect((await demo(`${quiet.key.slice(0, -4)}xxxx`)).status).toBe(401);
  const write = await send(h.stack.url, {
    method: 'POST',
    path: '/demo/agents',
    headers: { authorization: `Bearer ${used.key}` },
  });
  expect(write.status).toBe(403);
  // The authorizer writes a minute's counts at the first request of a later minute
  // (docs/analytics.md): move this process's clock (the stack's) past the minute, then call once.
  fakeDateOnly(Date.now() + 61_000);
  try {
    expect((await demo(used.key)).status).toBe(200);
  } finally {
    jest.useRealTimers();
  }
  const usage = await until(
    () => api.request<Usage>('GET', `/v1/api-keys/${used.id}/usage`),
    (u) => u.totals.allowed === CALLS,
    'the usage counting the calls',
  );
  const overview = await until(
    () => api.request<Overview>('GET', '/v1/api-keys/overview', { query: { organization_id: 'acme' } }),
    (o) => o.most_used_keys.items.some((i) => i.key_id === used.id) && o.denied_requests.total > 0,
    'the most used keys ranking the key',
  );
  const quietUsage = await api.request<Usage>('GET', `/v1/api-keys/${quiet.id}/usage`);

  const { context, page } = await h.open('super-admin');
  await inAcme(page, 'Analytics');
  const perKey = await chartTable(page, 'Executions per key (last 30 days)');
  expect(perKey['chart key']).toEqual([usage.totals.allowed, usage.totals.denied]);
  expect(perKey['quiet key']).toEqual([quietUsage.totals.allowed, quietUsage.totals.denied]);
  const mostUsed = await chartTable(page, `Most used keys (${overview.most_used_keys.day})`);
  expect(mostUsed).toEqual(
    Object.fromEntries(overview.most_used_keys.items.map((i) => [i.name, [i.allowed]])),
  );
  expect(mostUsed['chart key']).toEqual([CALLS]);
  // The charts are drawn (a canvas each), each named, with the table as its text alternative.
  expect(await page.locator('figure.chart canvas').count()).toBeGreaterThanOrEqual(2);
  await page.getByRole('figure', { name: 'Executions per key (last 30 days)' }).waitFor();
  await screenshot(page, 'analytics');
  expect(await seriousViolations(page)).toEqual([]);
  await context.close();
});

it('shows the refusals the overview counts, by reason', async () => {
  const overview = await admin().request<Overview>('GET', '/v1/api-keys/overview', {
    query: { organization_id: 'acme' },
  });
  expect(overview.denied_requests.by_reason.scope_missing).toBe(1);
  const { context, page } = await h.open('super-admin');
  await inAcme(page, 'Analytics');
  const refusals = await chartTable(
    page,
    'Failed authentications and denied requests by reason (last 24 hours)',
  );
  const reasons = new Set([
    ...Object.keys(overview.failed_authentications.by_reason),
    ...Object.keys(overview.denied_requests.by_reason),
  ]);
  expect(Object.keys(refusals).sort()).toEqual([...reasons].sort());
  for (const reason of reasons) {
    expect(refusals[reason]).toEqual([
      overview.failed_authentications.by_reason[reason] ?? 0,
      overview.denied_requests.by_reason[reason] ?? 0,
    ]);
  }
  expect(refusals.scope_missing).toEqual([0, 1]);
  await context.close();
});

it('lists the key’s events in the activity log', async () => {
  const { context, page } = await h.open('super-admin');
  await inAcme(page, 'Activity');
  const row = (event: string) => page.locator(`tr[data-event="${event}"]`, { hasText: used.key_prefix });
  await row('admin.api_key_created').waitFor();
  await row('admin.api_key_used').first().waitFor();
  // Each row says what the API's entry says: key, action, status, time, IP.
  const entries = await admin().request<{ items: AuditEntry[] }>('GET', '/v1/audit', {
    query: { organization_id: 'acme', key_id: used.id },
  });
  for (const event of ['admin.api_key_created', 'admin.api_key_used']) {
    const entry = entries.items.find((e) => e.event_name === event);
    const cells = await row(event).first().locator('td').allTextContents();
    expect(cells[0]).toBe(entry?.timestamp.slice(0, 16).replace('T', ' '));
    expect(cells[1]).toBe(used.key_prefix);
    expect(cells[2]).toBe(event);
    expect(cells[3]).toMatch(/^success/);
    expect(cells[5]).toBe(entry?.source_ip ?? '—');
  }
  const created = entries.items.find((e) => e.event_name === 'admin.api_key_created');
  expect(created?.source_ip).toMatch(/^(127\.0\.0\.1|::1)$/);
  await page.getByLabel('Action').selectOption('admin.api_key_created');
  await page.locator('tr[data-event="admin.api_key_used"]').first().waitFor({ state: 'detached' });
  await screenshot(page, 'activity');
  expect(await seriousViolations(page)).toEqual([]);
  await context.close();
});

it('applies an organization policy on the page and shows its warning on a create', async () => {
  const { context, page } = await h.open('super-admin');
  await inAcme(page, 'Policies');
  const rule = {
    id: 'long-lived-keys',
    description: 'Keys should expire within 30 days',
    effect: 'warn',
    actions: ['api_key:create'],
    when: { expires_beyond_days: 30 },
  };
  await page.getByLabel(/Rules \(JSON array/).fill(JSON.stringify([rule]));
  expect(await seriousViolations(page)).toEqual([]);
  await page.getByRole('button', { name: 'Apply policy' }).click();
  await page.getByText(/Policy applied/).waitFor();
  const policy = await admin().request<{ rules: { id: string }[] }>('GET', '/v1/organizations/acme/policy');
  expect(policy.rules.map((r) => r.id)).toEqual(['long-lived-keys']);
  await screenshot(page, 'policies');

  await page.getByRole('link', { name: 'Keys', exact: true }).click();
  await page.getByRole('button', { name: 'Create key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create API key' });
  await dialog.getByLabel('Key name').fill('long lived');
  await dialog.getByLabel('90 days').check();
  await dialog.getByRole('button', { name: 'Create key' }).click();
  const panel = page.getByRole('dialog', { name: /Key created/ });
  const warning = panel.getByRole('status', { name: 'Policy warnings' });
  await warning.waitFor();
  expect(await warning.textContent()).toContain('long-lived-keys');
  await screenshot(page, 'policy-warning');
  expect(await seriousViolations(page)).toEqual([]);
  await context.close();
});
