/**
 * The API Keys module (docs/console.md): the header (organization picker, root mode, who the console
 * acts as) and the views. Every figure comes from the management API, signed with the session's
 * credentials; the API's answer decides what the caller may do.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import {
  describeError,
  ManagementApi,
  type Organization,
  type Page,
  type RootModeState,
  type ScopeCatalog,
} from './api';
import type { ConsoleSession } from './auth/session';
import type { ConsoleConfig } from './config';
import { type Me, type Permissions, permissionsIn, ROLE_LABELS } from './roles';
import { Badge, Dialog, ErrorNotice, Loading, relative } from './ui';
import { ActivityView } from './views/activity';
import { AnalyticsView } from './views/analytics';
import { KeysView } from './views/keys';
import { OverviewView } from './views/overview';
import { PoliciesView } from './views/policies';

/** The management API, signed with the session's credentials; `apiBaseUrl` may be relative. */
function managementApi(config: ConsoleConfig, session: ConsoleSession): ManagementApi {
  return new ManagementApi({
    baseUrl: new URL(config.apiBaseUrl, location.href).toString(),
    region: config.region,
    credentials: () => session.credentials(),
  });
}

/** What every view is given. */
export interface ViewContext {
  readonly api: ManagementApi;
  readonly org: Organization;
  readonly catalog: ScopeCatalog;
  readonly rootMode: RootModeState | null;
  /** What the caller's role can ever do here (from `GET /v1/me`): controls it never can are hidden. */
  readonly can: Permissions;
}

const VIEWS = [
  { id: 'overview', label: 'Overview' },
  { id: 'keys', label: 'Keys' },
  { id: 'analytics', label: 'Analytics' },
  { id: 'activity', label: 'Activity' },
  { id: 'policies', label: 'Policies' },
] as const;
type ViewId = (typeof VIEWS)[number]['id'];

const viewFromHash = (): ViewId => {
  const id = location.hash.replace(/^#\/?/, '');
  return (VIEWS.find((v) => v.id === id)?.id ?? 'overview') as ViewId;
};

const ORG_CHOICE = 'latchkey.console.organization';

function RootModeControl({
  api,
  state,
  onChange,
}: {
  api: ManagementApi;
  state: RootModeState | null;
  onChange: () => void;
}) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const close = useCallback(() => setAsking(false), []);
  if (!state) return null;
  const badge = state.open ? <Badge tone="root">Root mode · ends {relative(state.expires_at)}</Badge> : null;
  // The switch is offered only to principals the API says may open root mode (super admins with
  // root_allowed, docs/tenancy.md#root-mode); everyone else never sees it.
  if (!state.root_allowed) return badge;
  const closeRoot = async () => {
    setBusy(true);
    try {
      await api.request('DELETE', '/v1/root-mode');
      onChange();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  const open = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      await api.request('POST', '/v1/root-mode', {
        body: { reason: String(form.get('reason') ?? ''), duration_minutes: Number(form.get('duration')) },
      });
      setAsking(false);
      onChange();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="root-mode">
      {badge}
      {state.open ? (
        <button type="button" class="small danger-outline" disabled={busy} onClick={closeRoot}>
          Leave root mode
        </button>
      ) : (
        <button type="button" class="small" onClick={() => setAsking(true)}>
          Enter root mode
        </button>
      )}
      {!asking && <ErrorNotice error={error} />}
      {asking && (
        <Dialog title="Enter root mode" onClose={close}>
          <form onSubmit={open} class="form">
            <p>
              Root mode lets you change system keys for at most 15 minutes. It needs MFA credentials and is
              audited with your reason.
            </p>
            <label>
              Reason
              <input name="reason" required maxLength={128} />
            </label>
            <label>
              Duration (minutes)
              <input name="duration" type="number" min={1} max={15} value={15} required />
            </label>
            <ErrorNotice error={error} />
            <div class="actions">
              <button type="submit" class="primary" disabled={busy}>
                Enter root mode
              </button>
            </div>
          </form>
        </Dialog>
      )}
    </div>
  );
}

export function App({
  config,
  session,
  principalPicker,
}: {
  config: ConsoleConfig;
  session: ConsoleSession;
  principalPicker: ComponentChildren;
}) {
  const api = useMemo(() => managementApi(config, session), [config, session]);
  const [view, setView] = useState<ViewId>(viewFromHash());
  const [orgs, setOrgs] = useState<readonly Organization[] | null>(null);
  const [orgId, setOrgId] = useState<string | null>(sessionStorage.getItem(ORG_CHOICE));
  const [catalog, setCatalog] = useState<ScopeCatalog | null>(null);
  // Who the caller is (GET /v1/me): its roles and its root-mode state.
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const onHash = () => setView(viewFromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const loadOrgs = useCallback(async () => {
    try {
      const page = await api.request<Page<Organization>>('GET', '/v1/organizations', {
        query: { limit: 100 },
      });
      setOrgs(page.items);
    } catch (e) {
      setError(describeError(e));
    }
  }, [api]);
  const loadMe = useCallback(async () => {
    try {
      setMe(await api.request<Me>('GET', '/v1/me'));
    } catch {
      // Unknown: every control stays and the API decides.
      setMe(null);
    }
  }, [api]);
  useEffect(() => {
    void loadOrgs();
    void loadMe();
    api
      .request<ScopeCatalog>('GET', '/v1/api-keys/scopes')
      .then(setCatalog, (e) => setError(describeError(e)));
  }, [api, loadOrgs, loadMe]);

  const org = orgs?.find((o) => o.organization_id === orgId) ?? orgs?.[0] ?? null;
  const pickOrg = (id: string) => {
    sessionStorage.setItem(ORG_CHOICE, id);
    setOrgId(id);
  };
  const rootMode = me?.root_mode ?? null;
  const can = useMemo(() => permissionsIn(me, org?.organization_id ?? ''), [me, org?.organization_id]);
  const context: ViewContext | null = org && catalog ? { api, org, catalog, rootMode, can } : null;

  return (
    <div class="shell">
      <header class="top">
        <div class="brand">
          <span class="logo" aria-hidden="true">
            ⬢
          </span>
          <span>Latchkey</span>
          <span class="crumb">Settings / API Keys</span>
        </div>
        <div class="top-controls">
          {orgs && orgs.length > 0 && (
            <label class="picker">
              <span>Organization</span>
              <select
                value={org?.organization_id}
                onChange={(e) => pickOrg((e.currentTarget as HTMLSelectElement).value)}
                aria-label="Organization"
              >
                {orgs.map((o) => (
                  <option key={o.organization_id} value={o.organization_id}>
                    {o.name} ({o.organization_id})
                  </option>
                ))}
              </select>
            </label>
          )}
          {org && can.role && (
            <span class="role" title={me?.principal}>
              <span class="sr-only">Your role: </span>
              <Badge tone="role">{ROLE_LABELS[can.role]}</Badge>
            </span>
          )}
          <RootModeControl api={api} state={rootMode} onChange={loadMe} />
          {principalPicker ?? (
            <span class="who">
              {session.label}{' '}
              <button type="button" class="small" onClick={() => session.signOut()}>
                Sign out
              </button>
            </span>
          )}
        </div>
      </header>
      <nav class="tabs" aria-label="API Keys sections">
        {VIEWS.map((v) => (
          <a key={v.id} href={`#/${v.id}`} aria-current={v.id === view ? 'page' : undefined}>
            {v.label}
          </a>
        ))}
      </nav>
      <main class="content">
        <ErrorNotice error={error} />
        {orgs && orgs.length === 0 && (
          <p class="notice">
            This principal has no role in any organization: the API grants it nothing here.
          </p>
        )}
        {!context && !error && !(orgs && orgs.length === 0) && <Loading what="your organizations" />}
        {context && view !== 'policies' && !context.org.api_keys_enabled ? (
          <section class="disabled-module" aria-labelledby="disabled-title">
            <h1 id="disabled-title">API keys are switched off for {context.org.name}</h1>
            <p>
              A super admin has set <code>api_keys_enabled</code> to false for this organization: its key and
              audit routes answer <code>503 service_disabled</code>. Existing keys keep working on protected
              APIs; nothing can be created, rotated or revoked here until it is switched back on.
            </p>
          </section>
        ) : (
          context && (
            <div key={`${context.org.organization_id}-${view}`}>
              {view === 'overview' && <OverviewView ctx={context} />}
              {view === 'keys' && <KeysView ctx={context} />}
              {view === 'analytics' && <AnalyticsView ctx={context} />}
              {view === 'activity' && <ActivityView ctx={context} />}
              {view === 'policies' && <PoliciesView ctx={context} />}
            </div>
          )
        )}
      </main>
    </div>
  );
}
