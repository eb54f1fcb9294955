/**
 * The organization's policy (`GET/PUT /v1/organizations/{org}/policy`, docs/tenancy.md#policy-rules):
 * the built-in rules of the seed's settings page, the organization's own rules (JSON, as the API
 * takes them), and the deploy-wide rules (read-only here: they come from `cdk.json`).
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { describeError, type OrganizationPolicy } from '../api';
import type { ViewContext } from '../app';
import { ErrorNotice, Failure, formatDate, Loading, PolicyWarnings, shortArn } from '../ui';

export function PoliciesView({ ctx }: { ctx: ViewContext }) {
  const path = `/v1/organizations/${encodeURIComponent(ctx.org.organization_id)}/policy`;
  const [policy, setPolicy] = useState<OrganizationPolicy | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<OrganizationPolicy | null>(null);
  const [busy, setBusy] = useState(false);
  const load = useCallback(() => {
    ctx.api.request<OrganizationPolicy>('GET', path).then(setPolicy, setLoadError);
  }, [ctx.api, path]);
  useEffect(load, [load]);
  if (loadError) return <Failure error={loadError} />;
  if (!policy) return <Loading what="the policy" />;

  const apply = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    let rules: unknown;
    try {
      rules = JSON.parse(String(form.get('rules') ?? '[]'));
    } catch {
      setError('Rules must be a JSON array of rules.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await ctx.api.request<OrganizationPolicy>('PUT', path, {
        body: {
          built_in: {
            production_expiry: {
              enabled: form.get('production_expiry') === 'on',
              max_days: Number(form.get('max_days')),
            },
            execute_requires_elevation: { enabled: form.get('execute_requires_elevation') === 'on' },
          },
          rules,
          version: policy.version,
        },
      });
      setSaved(answer);
      setPolicy(answer);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <div class="page-head">
        <h1>Organization policy</h1>
        <p class="muted">
          {ctx.org.name} · version {policy.version}
          {policy.updated_at &&
            ` · changed ${formatDate(policy.updated_at)} by ${shortArn(policy.updated_by)}`}
        </p>
      </div>
      {saved && (
        <p class="notice notice-ok" role="status">
          Policy applied (version {saved.version}).
        </p>
      )}
      <PolicyWarnings warnings={saved?.policy_warnings} />
      <form class="form panel" onSubmit={apply} key={policy.version}>
        <h2>Built-in rules</h2>
        <label class="check">
          <input
            type="checkbox"
            name="production_expiry"
            disabled={!ctx.can.mayPutPolicy}
            defaultChecked={policy.built_in.production_expiry.enabled}
          />{' '}
          Expiry required for production keys, at most
          <input
            class="inline-number"
            type="number"
            name="max_days"
            disabled={!ctx.can.mayPutPolicy}
            min={1}
            max={3650}
            aria-label="Maximum days for production keys"
            defaultValue={String(policy.built_in.production_expiry.max_days)}
          />{' '}
          days away
        </label>
        <label class="check">
          <input
            type="checkbox"
            name="execute_requires_elevation"
            disabled={!ctx.can.mayPutPolicy}
            defaultChecked={policy.built_in.execute_requires_elevation.enabled}
          />{' '}
          Execute permission requires MFA (root mode)
        </label>
        <label class="check">
          <input type="checkbox" checked disabled /> Revoked keys cannot be restored (locked on)
        </label>
        <label class="check">
          <input type="checkbox" checked disabled /> Rotation history is kept (locked on)
        </label>
        <h2>Organization rules</h2>
        <label>
          Rules (JSON array; effect <code>deny</code> or <code>warn</code>, docs/tenancy.md)
          <textarea
            name="rules"
            readOnly={!ctx.can.mayPutPolicy}
            rows={10}
            spellcheck={false}
            defaultValue={JSON.stringify(policy.rules, null, 2)}
          />
        </label>
        <ErrorNotice error={error} />
        {ctx.can.mayPutPolicy ? (
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              Apply policy
            </button>
          </div>
        ) : (
          <p class="muted">Only the organization's owners and super admins change its policy.</p>
        )}
      </form>
      <section class="panel" aria-labelledby="deploy-rules">
        <h2 id="deploy-rules">Deploy-wide rules</h2>
        <p class="muted">
          Set in the deployment's configuration; they apply to every organization, before its own.
        </p>
        {policy.deploy_rules.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <pre>{JSON.stringify(policy.deploy_rules, null, 2)}</pre>
        )}
      </section>
    </>
  );
}
