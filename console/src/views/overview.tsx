/** Overview: the registry's figures (`GET /v1/api-keys/overview`, docs/analytics.md). */
import { useEffect, useState } from 'preact/hooks';
import { ENVIRONMENTS, type Overview } from '../api';
import type { ViewContext } from '../app';
import { Failure, Loading, RiskBadge, relative } from '../ui';

const CARDS = [
  { id: 'total', label: 'Total keys', hint: 'every key in the registry' },
  { id: 'active', label: 'Active keys', hint: 'usable now' },
  { id: 'expired', label: 'Expired keys', hint: 'past their expiry' },
  { id: 'revoked', label: 'Revoked keys', hint: 'permanently stopped' },
] as const;

export function useOverview(ctx: ViewContext) {
  const [overview, setOverview] = useState<Overview | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    ctx.api
      .request<Overview>('GET', '/v1/api-keys/overview', {
        query: { organization_id: ctx.org.organization_id },
      })
      .then(setOverview, setError);
  }, [ctx.api, ctx.org.organization_id]);
  return { overview, error };
}

export function OverviewView({ ctx }: { ctx: ViewContext }) {
  const { overview, error } = useOverview(ctx);
  if (error) return <Failure error={error} />;
  if (!overview) return <Loading what="the overview" />;
  return (
    <>
      <div class="page-head">
        <h1>API keys overview</h1>
        <p class="muted">
          {ctx.org.name} · figures at {new Date(overview.generated_at).toISOString().slice(11, 19)} UTC
        </p>
      </div>
      <section class="cards" aria-label="Key counts">
        {CARDS.map((c) => (
          <div class={`card card-${c.id}`} key={c.id} data-metric={c.id}>
            <p class="card-label">{c.label}</p>
            <p class="card-value">{overview.keys[c.id]}</p>
            <p class="card-hint">{c.hint}</p>
          </div>
        ))}
      </section>
      <p class="muted small-print">
        {overview.keys.disabled} disabled · {overview.failed_authentications.total} failed authentications and{' '}
        {overview.denied_requests.total} denied requests in the last 24 hours
      </p>
      <div class="grid-2">
        <section class="panel" aria-labelledby="env-title">
          <h2 id="env-title">Environments</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Environment</th>
                <th scope="col">Total</th>
                <th scope="col">Active</th>
                <th scope="col">Disabled</th>
                <th scope="col">Expired</th>
                <th scope="col">Revoked</th>
              </tr>
            </thead>
            <tbody>
              {ENVIRONMENTS.map((env) => {
                const c = overview.by_environment[env];
                return (
                  <tr key={env} data-environment={env}>
                    <th scope="row">
                      <span class={`env env-${env}`}>{env}</span>
                    </th>
                    <td>{c?.total ?? 0}</td>
                    <td>{c?.active ?? 0}</td>
                    <td>{c?.disabled ?? 0}</td>
                    <td>{c?.expired ?? 0}</td>
                    <td>{c?.revoked ?? 0}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
        <section class="panel" aria-labelledby="scope-title">
          <h2 id="scope-title">Scope classification</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Module</th>
                <th scope="col">Keys</th>
                <th scope="col">Last execution</th>
                <th scope="col">Risk level</th>
              </tr>
            </thead>
            <tbody>
              {overview.by_module.map((m) => (
                <tr key={m.module} data-module={m.module}>
                  <th scope="row">{m.module}</th>
                  <td>{m.key_count}</td>
                  <td title={m.last_used_at ?? undefined}>{relative(m.last_used_at)}</td>
                  <td>
                    <RiskBadge risk={m.risk_level} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted small-print">
            Keys: usable keys holding a scope of the module. Risk: the highest risk level among the module's
            scopes those keys hold.
          </p>
        </section>
      </div>
    </>
  );
}
