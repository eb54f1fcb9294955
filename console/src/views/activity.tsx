/** The activity log (`GET /v1/audit`, docs/audit-and-events.md): newest first, paged. */
import { useEffect, useState } from 'preact/hooks';
import type { AuditEntry, Page } from '../api';
import type { ViewContext } from '../app';
import { ActorCell, Badge, Failure, formatDate, Loading, Pager, usePages } from '../ui';

const EVENTS = [
  'admin.api_key_created',
  'admin.api_key_updated',
  'admin.api_key_scope_changed',
  'admin.api_key_rotated',
  'admin.api_key_deleted',
  'admin.api_key_used',
  'admin.api_key_denied',
  'admin.api_key_suspicious',
  'admin.access_denied',
  'admin.policy_warning',
  'admin.policy_changed',
];

/** What the entry says happened: refusals failed, warnings warned, everything else succeeded. */
function outcome(entry: AuditEntry): { tone: string; text: string } {
  const reason = typeof entry.details?.reason === 'string' ? entry.details.reason : undefined;
  if (entry.event_name.endsWith('_denied') || entry.event_name === 'root_mode.required_for_api_key') {
    return { tone: 'revoked', text: reason ? `failed: ${reason}` : 'failed' };
  }
  if (entry.event_name === 'admin.policy_warning' || entry.event_name === 'admin.api_key_suspicious') {
    return { tone: 'expired', text: 'warning' };
  }
  const count = typeof entry.details?.count === 'number' ? ` (${entry.details.count} requests)` : '';
  return { tone: 'active', text: `success${count}` };
}

export function ActivityView({ ctx }: { ctx: ViewContext }) {
  const [eventName, setEventName] = useState('');
  const pages = usePages();
  const [page, setPage] = useState<Page<AuditEntry> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const current = pages.current;
  useEffect(() => {
    setError(null);
    ctx.api
      .request<Page<AuditEntry>>('GET', '/v1/audit', {
        query: {
          organization_id: ctx.org.organization_id,
          limit: 50,
          ...(eventName ? { event_name: eventName } : {}),
          ...(current ? { next_token: current } : {}),
        },
      })
      .then(setPage, setError);
  }, [ctx.api, ctx.org.organization_id, eventName, current]);
  return (
    <>
      <div class="page-head">
        <h1>Activity log</h1>
        <p class="muted">Every change, use and refusal of {ctx.org.name}'s keys, newest first.</p>
      </div>
      <form class="filters" aria-label="Activity filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Action
          <select
            value={eventName}
            onChange={(e) => {
              setEventName((e.currentTarget as HTMLSelectElement).value);
              pages.restart();
            }}
          >
            <option value="">any</option>
            {EVENTS.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </form>
      <Failure error={error} />
      {!page && !error && <Loading what="activity" />}
      {page && (
        <div class="table-wrap">
          <table aria-label="Activity log">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Key</th>
                <th scope="col">Action</th>
                <th scope="col">Status</th>
                <th scope="col">Actor</th>
                <th scope="col">IP address</th>
              </tr>
            </thead>
            <tbody>
              {page.items.length === 0 && (
                <tr>
                  <td colSpan={6} class="muted">
                    No activity yet.
                  </td>
                </tr>
              )}
              {page.items.map((entry) => {
                const o = outcome(entry);
                return (
                  <tr key={entry.event_id} data-event={entry.event_name}>
                    <td>{formatDate(entry.timestamp)}</td>
                    <td>
                      <code>{entry.key_prefix ?? entry.key_id ?? '—'}</code>
                    </td>
                    <td>{entry.event_name}</td>
                    <td>
                      <Badge tone={o.tone}>{o.text}</Badge>
                    </td>
                    <ActorCell entry={entry} />
                    <td>{entry.source_ip ?? '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <Pager pages={pages} next={page.next_token} />
        </div>
      )}
    </>
  );
}
