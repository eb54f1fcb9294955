/**
 * The keys registry (docs/console.md): `GET /v1/api-keys` with the filters the API supports and its
 * paging, the create-key modal with the copy-once secret panel, and each key's actions (details,
 * rotate with grace, enable/disable, revoke), plus the registry export.
 */
import { Fragment } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import {
  type ApiKey,
  type AuditEntry,
  describeError,
  ENVIRONMENTS,
  errorFromResponse,
  type IssuedKey,
  type Page,
  PERMISSIONS,
  type PolicyWarning,
  STATUSES,
  type Workspace,
} from '../api';
import type { ViewContext } from '../app';
import {
  ActorCell,
  Badge,
  Dialog,
  ErrorNotice,
  Failure,
  FilterSelect,
  formatDate,
  Loading,
  Pager,
  PolicyWarnings,
  relative,
  StatusBadge,
  shortArn,
  usePages,
} from '../ui';

interface Filters {
  status: string;
  environment: string;
  scope: string;
  workspace_id: string;
}

const NO_FILTERS: Filters = { status: '', environment: '', scope: '', workspace_id: '' };
const PAGE_SIZE = 20;

const modulesOf = (scopes: readonly string[]) => [...new Set(scopes.map((s) => s.split(':')[0] ?? s))];

function useWorkspaces(ctx: ViewContext) {
  const [workspaces, setWorkspaces] = useState<readonly Workspace[]>([]);
  useEffect(() => {
    ctx.api
      .request<Page<Workspace>>(
        'GET',
        `/v1/organizations/${encodeURIComponent(ctx.org.organization_id)}/workspaces`,
        {
          query: { limit: 100 },
        },
      )
      .then(
        (p) => setWorkspaces(p.items),
        () => setWorkspaces([]),
      );
  }, [ctx.api, ctx.org.organization_id]);
  return workspaces;
}

/** The token, once: held in this component's state only, gone when the panel closes. */
function SecretPanel({ issued, title, onDone }: { issued: IssuedKey; title: string; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(issued.key);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('The browser refused the clipboard: select the token and copy it by hand.');
    }
  };
  return (
    <Dialog title={title} onClose={onDone}>
      <div class="secret-panel">
        <p class="notice notice-warning">
          Copy this secret now. It is shown <strong>once</strong>: Latchkey keeps only its hash, and it is
          gone when you close this panel or reload the page.
        </p>
        <label for="issued-token">Secret for {issued.name}</label>
        <div class="token-row">
          <input id="issued-token" class="token" readOnly value={issued.key} data-secret="token" />
          <button type="button" class="primary" onClick={copy}>
            Copy
          </button>
        </div>
        <p role="status" class="muted">
          {copied}
        </p>
        <dl class="facts">
          <dt>Key id</dt>
          <dd>
            <code>{issued.id}</code>
          </dd>
          <dt>Prefix</dt>
          <dd>
            <code>{issued.key_prefix}</code>
          </dd>
          <dt>Scopes</dt>
          <dd>{issued.scopes.join(', ')}</dd>
          <dt>Expires</dt>
          <dd>{formatDate(issued.expires_at)}</dd>
          {issued.previous_key_expires_at && (
            <>
              <dt>Previous secret works until</dt>
              <dd>{formatDate(issued.previous_key_expires_at)}</dd>
            </>
          )}
        </dl>
        <PolicyWarnings warnings={issued.policy_warnings} />
        <div class="actions">
          <button type="button" onClick={onDone}>
            I have copied it
          </button>
        </div>
      </div>
    </Dialog>
  );
}

function CreateKeyDialog({
  ctx,
  workspaces,
  onClose,
  onCreated,
}: {
  ctx: ViewContext;
  workspaces: readonly Workspace[];
  onClose: () => void;
  onCreated: (issued: IssuedKey) => void;
}) {
  const modules = useMemo(() => {
    const byModule = new Map<string, Set<string>>();
    for (const s of ctx.catalog.items) {
      if (s.module === 'system' && !ctx.rootMode?.open) continue;
      byModule.set(s.module, (byModule.get(s.module) ?? new Set()).add(s.permission));
    }
    return byModule;
  }, [ctx.catalog, ctx.rootMode]);
  const [module, setModule] = useState<string>([...modules.keys()][0] ?? '');
  const [expiry, setExpiry] = useState('90');
  const [keyType, setKeyType] = useState<string>(ctx.can.createTypes[0] ?? 'workspace');
  // A workspace admin creates only in its own workspaces.
  const choices = (workspaces.length ? workspaces : [{ workspace_id: 'default', name: 'Default' }]).filter(
    (w) => ctx.can.mayCreateIn(w.workspace_id),
  );
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const allowed = modules.get(module) ?? new Set<string>();

  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const permissions = form.getAll('permission').map(String);
    if (permissions.length === 0) {
      setError('Choose at least one permission.');
      return;
    }
    const ips = String(form.get('ips') ?? '')
      .split(/[\s,]+/)
      .filter(Boolean);
    const body: Record<string, unknown> = {
      name: String(form.get('name') ?? ''),
      scopes: permissions.map((p) => `${module}:${p}`),
      environment: String(form.get('environment')),
      organization_id: ctx.org.organization_id,
      key_type: keyType,
      ...(ips.length ? { ip_allowlist: ips } : {}),
    };
    if (keyType === 'workspace') body.workspace_id = String(form.get('workspace') || 'default');
    if (expiry === 'date') {
      const date = String(form.get('expires_on') ?? '');
      if (!date) {
        setError('Choose an expiry date.');
        return;
      }
      body.expires_at = `${date}T23:59:59Z`;
    } else if (expiry !== 'never') body.expires_in_days = Number(expiry);
    setBusy(true);
    setError(null);
    try {
      onCreated(await ctx.api.request<IssuedKey>('POST', '/v1/api-keys', { body }));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="Create API key" onClose={onClose} wide>
      <form class="form" onSubmit={submit}>
        <label>
          Key name
          <input name="name" required maxLength={128} placeholder="Agents pipeline executor" />
        </label>
        <div class="row">
          <label>
            Module scope
            <select
              name="module"
              value={module}
              onChange={(e) => setModule((e.currentTarget as HTMLSelectElement).value)}
            >
              {[...modules.keys()].map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </label>
          <label>
            Environment
            <select name="environment">
              {ENVIRONMENTS.map((env) => (
                <option key={env} value={env} selected={env === 'development'}>
                  {env}
                </option>
              ))}
            </select>
          </label>
        </div>
        <fieldset>
          <legend>Permissions</legend>
          {PERMISSIONS.filter((p) => allowed.has(p)).map((p) => {
            const entry = ctx.catalog.items.find((s) => s.scope === `${module}:${p}`);
            return (
              <label class="check" key={`${module}-${p}`}>
                <input type="checkbox" name="permission" value={p} defaultChecked={p === 'read'} /> {p}
                {entry && (
                  <span class="muted">
                    {' '}
                    — {entry.description} ({entry.risk_level} risk)
                  </span>
                )}
              </label>
            );
          })}
        </fieldset>
        <fieldset>
          <legend>Expiry</legend>
          <div class="row">
            {['30', '60', '90'].map((d) => (
              <label class="check" key={d}>
                <input
                  type="radio"
                  name="expiry"
                  value={d}
                  checked={expiry === d}
                  onChange={() => setExpiry(d)}
                />{' '}
                {d} days
              </label>
            ))}
            <label class="check">
              <input
                type="radio"
                name="expiry"
                value="date"
                checked={expiry === 'date'}
                onChange={() => setExpiry('date')}
              />{' '}
              On a date
            </label>
            <label class="check">
              <input
                type="radio"
                name="expiry"
                value="never"
                checked={expiry === 'never'}
                onChange={() => setExpiry('never')}
              />{' '}
              Never
            </label>
          </div>
          {expiry === 'date' && (
            <label>
              Expires on (end of the day, UTC)
              <input type="date" name="expires_on" required />
            </label>
          )}
        </fieldset>
        <div class="row">
          <label>
            Key type
            <select
              name="key_type"
              value={keyType}
              onChange={(e) => setKeyType((e.currentTarget as HTMLSelectElement).value)}
            >
              {ctx.can.createTypes.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
              {ctx.rootMode?.open && <option value="system">system (root mode)</option>}
            </select>
          </label>
          {keyType === 'workspace' && (
            <label>
              Workspace
              <select name="workspace">
                {choices.map((w) => (
                  <option key={w.workspace_id} value={w.workspace_id}>
                    {w.name} ({w.workspace_id})
                  </option>
                ))}
              </select>
            </label>
          )}
        </div>
        <label>
          IP restrictions (optional: addresses or CIDRs, comma or space separated)
          <input name="ips" placeholder="203.0.113.0/24, 198.51.100.7" />
        </label>
        <p class="muted">
          Organization: {ctx.org.name} ({ctx.org.organization_id})
        </p>
        <ErrorNotice error={error} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Create key
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RotateDialog({
  ctx,
  apiKey,
  onClose,
  onRotated,
}: {
  ctx: ViewContext;
  apiKey: ApiKey;
  onClose: () => void;
  onRotated: (issued: IssuedKey) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      onRotated(
        await ctx.api.request<IssuedKey>('POST', `/v1/api-keys/${apiKey.id}/rotate`, {
          body: {
            grace_period_seconds: Number(form.get('grace')),
            end_previous_grace: form.get('end_previous') === 'on',
          },
        }),
      );
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Rotate ${apiKey.name}`} onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <p>A new secret is issued. The current one keeps working for the grace period, then stops.</p>
        <label>
          Grace period for the current secret
          <select name="grace">
            <option value="0">None: it stops now</option>
            <option value="3600">1 hour</option>
            <option value="86400" selected>
              24 hours
            </option>
            <option value="604800">7 days</option>
          </select>
        </label>
        {apiKey.previous_key_expires_at && new Date(apiKey.previous_key_expires_at) > new Date() && (
          <p class="notice notice-warning">
            An earlier secret still works until {formatDate(apiKey.previous_key_expires_at)}.
          </p>
        )}
        <label class="check">
          <input type="checkbox" name="end_previous" /> End an open grace period now (the older secret stops
          at once)
        </label>
        <ErrorNotice error={error} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Rotate key
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RevokeDialog({
  ctx,
  apiKey,
  onClose,
  onDone,
}: {
  ctx: ViewContext;
  apiKey: ApiKey;
  onClose: () => void;
  onDone: (record: ApiKey) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const revoke = async () => {
    setBusy(true);
    try {
      onDone(await ctx.api.request<ApiKey>('DELETE', `/v1/api-keys/${apiKey.id}`));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Revoke ${apiKey.name}`} onClose={onClose}>
      <div class="form">
        <p>
          Revoking <code>{apiKey.key_prefix}</code> stops it at once, everywhere. A revoked key cannot be
          restored.
        </p>
        <ErrorNotice error={error} />
        <div class="actions">
          <button type="button" class="danger" disabled={busy} onClick={revoke}>
            Revoke key
          </button>
        </div>
      </div>
    </Dialog>
  );
}

function DetailsDialog({
  ctx,
  apiKey,
  onClose,
  onChanged,
}: {
  ctx: ViewContext;
  apiKey: ApiKey;
  onClose: () => void;
  onChanged: (record: ApiKey) => void;
}) {
  const [history, setHistory] = useState<readonly AuditEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    ctx.api
      .request<Page<AuditEntry>>('GET', `/v1/api-keys/${apiKey.id}/audit`, { query: { limit: 10 } })
      .then(
        (p) => setHistory(p.items),
        (e) => setError(describeError(e)),
      );
  }, [ctx.api, apiKey.id]);
  const toggle = async () => {
    try {
      onChanged(
        await ctx.api.request<ApiKey>('PATCH', `/v1/api-keys/${apiKey.id}`, {
          body: { enabled: apiKey.status === 'disabled' },
        }),
      );
    } catch (e) {
      setError(describeError(e));
    }
  };
  const fields: [string, string][] = [
    ['Key id', apiKey.id],
    ['Prefix', apiKey.key_prefix],
    ['Status', apiKey.status],
    ['Type', apiKey.key_type],
    ['Environment', apiKey.environment],
    ['Organization / workspace', `${apiKey.organization_id} / ${apiKey.workspace_id ?? '—'}`],
    ['Scopes', apiKey.scopes.join(', ')],
    ['IP restrictions', apiKey.ip_allowlist.length ? apiKey.ip_allowlist.join(', ') : 'any address'],
    ['Rate limit', apiKey.rate_limit === null ? 'none' : String(apiKey.rate_limit)],
    ['Created', `${formatDate(apiKey.created_at)} by ${apiKey.created_by}`],
    ['Expires', formatDate(apiKey.expires_at)],
    ['Last used', formatDate(apiKey.last_used_at)],
    ['Last rotated', formatDate(apiKey.rotated_at)],
    ...(apiKey.revoked_at
      ? ([['Revoked', `${formatDate(apiKey.revoked_at)} by ${apiKey.revoked_by ?? '—'}`]] as [
          string,
          string,
        ][])
      : []),
  ];
  return (
    <Dialog title={`Key ${apiKey.name}`} onClose={onClose} wide>
      <dl class="facts">
        {fields.map(([k, v]) => (
          <Fragment key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </Fragment>
        ))}
      </dl>
      {apiKey.status !== 'revoked' && apiKey.status !== 'expired' && ctx.can.mayChange(apiKey) && (
        <div class="actions">
          <button type="button" onClick={toggle}>
            {apiKey.status === 'disabled' ? 'Enable key' : 'Disable key'}
          </button>
        </div>
      )}
      <ErrorNotice error={error} />
      <h3>History</h3>
      {!history ? (
        <Loading what="the key's history" />
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">Actor</th>
              <th scope="col">IP</th>
            </tr>
          </thead>
          <tbody>
            {history.map((h) => (
              <tr key={h.event_id}>
                <td>{formatDate(h.timestamp)}</td>
                <td>{h.event_name}</td>
                <ActorCell entry={h} />
                <td>{h.source_ip ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Dialog>
  );
}

async function exportRegistry(ctx: ViewContext, format: 'csv' | 'json', filters: Filters) {
  const query = {
    format,
    organization_id: ctx.org.organization_id,
    ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== '')),
  };
  const parts: string[] = [];
  const items: unknown[] = [];
  let token: string | null = null;
  do {
    const answer = await ctx.api.raw('GET', '/v1/api-keys/export', {
      query: { ...query, ...(token ? { next_token: token } : {}) },
    });
    if (answer.status !== 200) throw errorFromResponse(answer.status, answer.text, answer.headers);
    if (format === 'csv') {
      // Every page repeats the header row; keep the first.
      parts.push(parts.length ? answer.text.slice(answer.text.indexOf('\r\n') + 2) : answer.text);
      token = answer.headers.get('x-next-token');
    } else {
      const page = JSON.parse(answer.text) as Page<unknown>;
      items.push(...page.items);
      token = page.next_token;
    }
  } while (token);
  const body = format === 'csv' ? parts.join('') : JSON.stringify({ items }, null, 2);
  const blob = new Blob([body], { type: format === 'csv' ? 'text/csv' : 'application/json' });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = `api-keys-${ctx.org.organization_id}.${format}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

type Action =
  | { kind: 'create' }
  | { kind: 'details' | 'rotate' | 'revoke'; key: ApiKey }
  | { kind: 'secret'; issued: IssuedKey; title: string };

export function KeysView({ ctx }: { ctx: ViewContext }) {
  const workspaces = useWorkspaces(ctx);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const pages = usePages();
  const [page, setPage] = useState<Page<ApiKey> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [action, setAction] = useState<Action | null>(null);
  const [warnings, setWarnings] = useState<readonly PolicyWarning[] | undefined>(undefined);
  const [message, setMessage] = useState<string | null>(null);
  const [exportError, setExportError] = useState<string | null>(null);
  const current = pages.current;

  const load = useCallback(async () => {
    setError(null);
    try {
      const query = {
        organization_id: ctx.org.organization_id,
        limit: PAGE_SIZE,
        ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== '')),
        ...(current ? { next_token: current } : {}),
      };
      setPage(await ctx.api.request<Page<ApiKey>>('GET', '/v1/api-keys', { query }));
    } catch (e) {
      setError(e);
    }
  }, [ctx.api, ctx.org.organization_id, filters, current]);
  useEffect(() => {
    void load();
  }, [load]);

  const setFilter = (name: keyof Filters) => (e: Event) => {
    setFilters({ ...filters, [name]: (e.currentTarget as HTMLSelectElement).value });
    pages.restart();
  };
  const closeAction = useCallback(() => setAction(null), []);
  const changed = (record: ApiKey, what: string) => {
    setWarnings(record.policy_warnings);
    setMessage(`${record.name}: ${what}.`);
    setAction(null);
    void load();
  };
  const issued = (record: IssuedKey, title: string, what: string) => {
    setWarnings(record.policy_warnings);
    setMessage(`${record.name}: ${what}.`);
    setAction({ kind: 'secret', issued: record, title });
    void load();
  };
  const scopes = [...ctx.catalog.items.map((s) => s.scope)];

  return (
    <>
      <div class="page-head">
        <h1>Keys registry</h1>
        <div class="head-actions">
          <button
            type="button"
            onClick={() => exportRegistry(ctx, 'csv', filters).catch((e) => setExportError(describeError(e)))}
          >
            Export CSV
          </button>
          <button
            type="button"
            onClick={() =>
              exportRegistry(ctx, 'json', filters).catch((e) => setExportError(describeError(e)))
            }
          >
            Export JSON
          </button>
          {ctx.can.createTypes.length > 0 && (
            <button type="button" class="primary" onClick={() => setAction({ kind: 'create' })}>
              Create key
            </button>
          )}
        </div>
      </div>
      <ErrorNotice error={exportError} />
      {message && (
        <p class="notice notice-ok" role="status">
          {message}
        </p>
      )}
      <PolicyWarnings warnings={warnings} />
      <form class="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        {(
          [
            ['Status', 'status', STATUSES],
            ['Environment', 'environment', ENVIRONMENTS],
            ['Scope', 'scope', scopes],
            ['Workspace', 'workspace_id', workspaces.map((w) => w.workspace_id)],
          ] as const
        ).map(([label, name, values]) => (
          <FilterSelect
            key={name}
            label={label}
            name={name}
            value={filters[name]}
            choices={values.map((value) => ({ value }))}
            onChange={setFilter(name)}
          />
        ))}
      </form>
      <Failure error={error} />
      {!page && !error && <Loading what="keys" />}
      {page && (
        <div class="table-wrap">
          <table class="registry" aria-label="API keys">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key id</th>
                <th scope="col">Module scope</th>
                <th scope="col">Owner</th>
                <th scope="col">Created</th>
                <th scope="col">Expiry</th>
                <th scope="col">Status</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {page.items.length === 0 && (
                <tr>
                  <td colSpan={9} class="muted">
                    No keys match.
                  </td>
                </tr>
              )}
              {page.items.map((k) => (
                <tr key={k.id} data-key-id={k.id}>
                  <th scope="row">
                    {k.name} {k.requires_root_mode && <Badge tone="root">root mode</Badge>}
                    <div class="muted small">
                      <span class={`env env-${k.environment}`}>{k.environment}</span>
                    </div>
                  </th>
                  <td>
                    <code>{k.key_prefix}</code>
                  </td>
                  <td title={k.scopes.join(', ')}>
                    {modulesOf(k.scopes).join(', ')}
                    <div class="muted small">{k.scopes.map((s) => s.split(':')[1]).join(' · ')}</div>
                  </td>
                  <td title={k.created_by}>{shortArn(k.created_by)}</td>
                  <td>{formatDate(k.created_at)}</td>
                  <td>{formatDate(k.expires_at)}</td>
                  <td>
                    <StatusBadge status={k.status} />
                  </td>
                  <td title={k.last_used_at ?? undefined}>{relative(k.last_used_at)}</td>
                  <td class="row-actions">
                    <button
                      type="button"
                      class="small"
                      aria-label={`Details of ${k.name}`}
                      onClick={() => setAction({ kind: 'details', key: k })}
                    >
                      Details
                    </button>
                    {k.status !== 'revoked' && ctx.can.mayChange(k) && (
                      <>
                        <button
                          type="button"
                          class="small"
                          aria-label={`Rotate ${k.name}`}
                          onClick={() => setAction({ kind: 'rotate', key: k })}
                        >
                          Rotate
                        </button>
                        <button
                          type="button"
                          class="small danger-outline"
                          aria-label={`Revoke ${k.name}`}
                          onClick={() => setAction({ kind: 'revoke', key: k })}
                        >
                          Revoke
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager pages={pages} next={page.next_token} />
        </div>
      )}
      {action?.kind === 'create' && (
        <CreateKeyDialog
          ctx={ctx}
          workspaces={workspaces}
          onClose={closeAction}
          onCreated={(k) => issued(k, 'Key created: copy its secret', 'created')}
        />
      )}
      {action?.kind === 'secret' && (
        <SecretPanel issued={action.issued} title={action.title} onDone={closeAction} />
      )}
      {action?.kind === 'rotate' && (
        <RotateDialog
          ctx={ctx}
          apiKey={action.key}
          onClose={closeAction}
          onRotated={(k) => issued(k, 'Key rotated: copy its new secret', 'rotated')}
        />
      )}
      {action?.kind === 'revoke' && (
        <RevokeDialog
          ctx={ctx}
          apiKey={action.key}
          onClose={closeAction}
          onDone={(k) => changed(k, 'revoked')}
        />
      )}
      {action?.kind === 'details' && (
        <DetailsDialog
          ctx={ctx}
          apiKey={action.key}
          onClose={closeAction}
          onChanged={(k) => changed(k, k.status === 'disabled' ? 'disabled' : 'enabled')}
        />
      )}
    </>
  );
}
