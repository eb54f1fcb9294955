/**
 * Local mode (`npm start`, docs/console.md): the page acts as one of the local stack's principals,
 * listed by the gateway at `config.principalsUrl` (loopback only). Only the principal's NAME is kept
 * in sessionStorage; its throwaway keys are fetched again on each load and never stored.
 */
import type { LocalConfig } from '../config';
import type { ConsoleSession } from './session';

export interface LocalPrincipalEntry {
  readonly name: string;
  readonly arn: string;
  readonly mfa: boolean;
  readonly binding: {
    readonly role: string;
    readonly organization_id?: string;
    readonly workspace_ids?: readonly string[];
    readonly root_allowed?: boolean;
  } | null;
  readonly access_key_id: string;
  readonly secret_access_key: string;
}

const CHOICE = 'latchkey.console.principal';

export async function localPrincipals(config: LocalConfig): Promise<readonly LocalPrincipalEntry[]> {
  const res = await fetch(new URL(config.principalsUrl, location.href), { cache: 'no-store' });
  if (!res.ok) throw new Error(`The local principals could not be read (${res.status})`);
  return ((await res.json()) as { principals: LocalPrincipalEntry[] }).principals;
}

export const chosenPrincipal = (): string | null => sessionStorage.getItem(CHOICE);

export function choosePrincipal(name: string | null): void {
  if (name === null) sessionStorage.removeItem(CHOICE);
  else sessionStorage.setItem(CHOICE, name);
}

export function roleLabel(p: LocalPrincipalEntry): string {
  const b = p.binding;
  if (!b) return 'unbound';
  const where = b.organization_id ? ` of ${b.organization_id}` : '';
  const ws = b.workspace_ids?.length ? ` (${b.workspace_ids.join(', ')})` : '';
  return `${b.role.replace(/_/g, ' ')}${where}${ws}`;
}

export function localSession(principal: LocalPrincipalEntry): ConsoleSession {
  return {
    label: principal.name,
    credentials: async () => ({
      accessKeyId: principal.access_key_id,
      secretAccessKey: principal.secret_access_key,
    }),
    signOut: () => choosePrincipal(null),
  };
}
