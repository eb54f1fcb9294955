/**
 * Usage analytics (docs/console.md), drawn from the API only: executions per key from each key's
 * usage (`GET /v1/api-keys/{id}/usage`: its hourly totals, last 30 days), and from the overview
 * (docs/analytics.md) the day's most used keys and the last 24 hours' refusals by reason.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ApiKey, Page, Usage } from '../api';
import type { ViewContext } from '../app';
import { Chart } from '../charts';
import { Failure, Loading } from '../ui';
import { useOverview } from './overview';

/** How many keys the executions chart reads the usage of (one request each). */
const KEYS_CHARTED = 10;

const ALLOWED = '#4f46e5';
const DENIED = '#dc2626';

function useKeyUsage(ctx: ViewContext) {
  const [rows, setRows] = useState<{ key: ApiKey; usage: Usage }[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    (async () => {
      const page = await ctx.api.request<Page<ApiKey>>('GET', '/v1/api-keys', {
        query: { organization_id: ctx.org.organization_id, status: 'active', limit: KEYS_CHARTED },
      });
      const usages = await Promise.all(
        page.items.map((key) => ctx.api.request<Usage>('GET', `/v1/api-keys/${key.id}/usage`)),
      );
      setRows(page.items.map((key, i) => ({ key, usage: usages[i] as Usage })));
    })().catch(setError);
  }, [ctx.api, ctx.org.organization_id]);
  return { rows, error };
}

export function AnalyticsView({ ctx }: { ctx: ViewContext }) {
  const { overview, error } = useOverview(ctx);
  const usage = useKeyUsage(ctx);
  const perKey = useMemo(() => {
    const rows = usage.rows ?? [];
    return {
      labels: rows.map((r) => r.key.name),
      series: [
        { label: 'Allowed', color: ALLOWED, values: rows.map((r) => r.usage.totals.allowed) },
        { label: 'Denied', color: DENIED, values: rows.map((r) => r.usage.totals.denied) },
      ],
    };
  }, [usage.rows]);
  const mostUsed = useMemo(() => {
    const items = overview?.most_used_keys.items ?? [];
    return {
      labels: items.map((i) => i.name),
      series: [{ label: 'Allowed requests', color: ALLOWED, values: items.map((i) => i.allowed) }],
    };
  }, [overview]);
  const refusals = useMemo(() => {
    const failed = overview?.failed_authentications.by_reason ?? {};
    const denied = overview?.denied_requests.by_reason ?? {};
    const reasons = [...new Set([...Object.keys(failed), ...Object.keys(denied)])].sort();
    return {
      labels: reasons,
      series: [
        { label: 'Failed authentications (401)', color: DENIED, values: reasons.map((r) => failed[r] ?? 0) },
        { label: 'Denied requests', color: '#d97706', values: reasons.map((r) => denied[r] ?? 0) },
      ],
    };
  }, [overview]);
  if (error) return <Failure error={error} />;
  if (usage.error) return <Failure error={usage.error} />;
  return (
    <>
      <div class="page-head">
        <h1>Usage analytics</h1>
        <p class="muted">
          Requests the authorizer counted for {ctx.org.name}. Counts are written once a minute is over, so the
          latest minute fills in shortly after.
        </p>
      </div>
      <div class="grid-2">
        <section class="panel">
          {usage.rows ? (
            <Chart
              title="Executions per key (last 30 days)"
              kind="bars"
              labelHeading="Key"
              labels={perKey.labels}
              series={perKey.series}
              empty="No active keys in this organization."
            />
          ) : (
            <Loading what="usage" />
          )}
        </section>
        <section class="panel">
          {overview ? (
            <Chart
              title={`Most used keys (${overview.most_used_keys.day})`}
              kind="bars"
              labelHeading="Key"
              labels={mostUsed.labels}
              series={mostUsed.series}
              empty="No key was used today."
            />
          ) : (
            <Loading what="the overview" />
          )}
        </section>
        <section class="panel">
          {overview ? (
            <>
              <Chart
                title="Failed authentications and denied requests by reason (last 24 hours)"
                kind="bars"
                labelHeading="Reason"
                labels={refusals.labels}
                series={refusals.series}
                empty="No refusals in the last 24 hours."
              />
              <p class="muted small-print" data-metric="failed-authentications">
                {overview.failed_authentications.total} failed authentications,{' '}
                {overview.denied_requests.total} denied requests
              </p>
            </>
          ) : (
            <Loading what="the overview" />
          )}
        </section>
      </div>
    </>
  );
}
