/** Small shared pieces of the console's UI: formatting, badges, dialogs, notices. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type AuditEntry, describeError, isModuleDisabled, type PolicyWarning } from './api';

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 16).replace('T', ' ');
}

export function relative(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  const ago = seconds >= 0;
  const s = Math.abs(seconds);
  const text =
    s < 60
      ? `${s}s`
      : s < 3600
        ? `${Math.floor(s / 60)}m`
        : s < 86400
          ? `${Math.floor(s / 3600)}h`
          : `${Math.floor(s / 86400)}d`;
  return ago ? `${text} ago` : `in ${text}`;
}

/** The last part of an ARN, which is how admins know principals (`user/latchkey-org-owner`). */
export const shortArn = (arn: string | null | undefined): string =>
  arn ? (arn.split(':').pop() ?? arn) : '—';

export function Badge({ tone, children }: { tone: string; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

export const StatusBadge = ({ status }: { status: string }) => <Badge tone={status}>{status}</Badge>;

export const RiskBadge = ({ risk }: { risk: string | null }) =>
  risk ? <Badge tone={`risk-${risk}`}>{risk}</Badge> : <span class="muted">none</span>;

/** A native modal dialog (focus trap, Escape, inert background come with `<dialog>`). */
export function Dialog({
  title,
  onClose,
  children,
  wide,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    const close = () => onClose();
    dialog?.addEventListener('close', close);
    return () => dialog?.removeEventListener('close', close);
  }, [onClose]);
  const id = `dialog-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <dialog ref={ref} class={wide ? 'wide' : ''} aria-labelledby={id}>
      <header class="dialog-head">
        <h2 id={id}>{title}</h2>
        <button type="button" class="ghost" aria-label="Close" onClick={() => ref.current?.close()}>
          ×
        </button>
      </header>
      {children}
    </dialog>
  );
}

export function ErrorNotice({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p class="notice notice-error" role="alert">
      {error}
    </p>
  );
}

/** `policy_warnings` of an answer (docs/tenancy.md#policy-rules): let through, but worth reading. */
export function PolicyWarnings({ warnings }: { warnings: readonly PolicyWarning[] | undefined }) {
  if (!warnings?.length) return null;
  return (
    <div class="notice notice-warning" role="status" aria-label="Policy warnings">
      <strong>Policy warning{warnings.length > 1 ? 's' : ''}</strong>
      <ul>
        {warnings.map((w) => (
          <li key={w.rule_id}>
            <code>{w.rule_id}</code> ({w.source}): {w.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** A failed call: the module-off state for `503 service_disabled`, else the API's words. */
export function Failure({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  if (isModuleDisabled(error)) {
    return (
      <section class="disabled-module" aria-label="API keys switched off">
        <h2>API keys are switched off for this organization</h2>
        <p>
          The management API answered <code>503 service_disabled</code>: nothing can be created, rotated or
          revoked here until a super admin switches the module back on. Existing keys keep working.
        </p>
      </section>
    );
  }
  return <ErrorNotice error={describeError(error)} />;
}

/**
 * Paging by the API's `next_token`: the tokens of the pages seen so far, so "Previous" needs no
 * token of its own. `restart()` goes back to the first page (after a filter changes).
 */
export function usePages() {
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  return {
    /** The token of the page to show (null: the first page). */
    current: tokens[tokens.length - 1] ?? null,
    number: tokens.length,
    back: () => setTokens(tokens.slice(0, -1)),
    forward: (next: string) => setTokens([...tokens, next]),
    restart: () => setTokens([null]),
  };
}

export function Pager({ pages, next }: { pages: ReturnType<typeof usePages>; next: string | null }) {
  return (
    <div class="pager">
      <button type="button" class="small" disabled={pages.number <= 1} onClick={pages.back}>
        Previous page
      </button>
      <span class="muted">Page {pages.number}</span>
      <button type="button" class="small" disabled={!next} onClick={() => next && pages.forward(next)}>
        Next page
      </button>
    </div>
  );
}

/** A labelled filter select whose first choice, "any", means no filter. */
export function FilterSelect({
  label,
  name,
  value,
  choices,
  onChange,
}: {
  label: string;
  name: string;
  value: string;
  choices: readonly { value: string; label?: string }[];
  onChange: (e: Event) => void;
}) {
  return (
    <label>
      {label}
      <select name={name} value={value} onChange={onChange}>
        <option value="">any</option>
        {choices.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label ?? c.value}
          </option>
        ))}
      </select>
    </label>
  );
}

/**
 * Who did it: the IAM principal, and under it the Cognito user when the entry has one (every member
 * of a console group signs as the same role session; the user pool `sub` says who).
 */
export function ActorCell({ entry }: { entry: Pick<AuditEntry, 'actor' | 'federated_user'> }) {
  return (
    <td title={entry.actor ?? undefined}>
      {shortArn(entry.actor)}
      {entry.federated_user && (
        <div class="muted small" title={`Cognito user pool ${entry.federated_user.user_pool_id}`}>
          user {entry.federated_user.sub}
        </div>
      )}
    </td>
  );
}
