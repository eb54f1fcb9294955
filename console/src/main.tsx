/**
 * The console's entry (docs/console.md): reads `config.json`, gets a session (local: a principal
 * chosen on the page; AWS: Cognito sign-in) and renders the API Keys module.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { App } from './app';
import { cognitoSession } from './auth/cognito';
import {
  choosePrincipal,
  chosenPrincipal,
  type LocalPrincipalEntry,
  localPrincipals,
  localSession,
  roleLabel,
} from './auth/local';
import type { ConsoleSession } from './auth/session';
import type { ConsoleConfig, LocalConfig } from './config';
import { ErrorNotice, Loading } from './ui';

async function readConfig(): Promise<ConsoleConfig> {
  const res = await fetch('config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`config.json could not be read (${res.status})`);
  return (await res.json()) as ConsoleConfig;
}

/** Local mode: the principal picker, shown in the header and, before a choice, as the page. */
export function PrincipalPicker({
  principals,
  current,
  onPick,
}: {
  principals: readonly LocalPrincipalEntry[];
  current: string | null;
  onPick: (name: string) => void;
}) {
  return (
    <label class="picker">
      <span>Act as</span>
      <select
        value={current ?? ''}
        onChange={(e) => onPick((e.currentTarget as HTMLSelectElement).value)}
        aria-label="Local principal"
      >
        {current === null && <option value="">Choose a local principal…</option>}
        {principals.map((p) => (
          <option key={p.name} value={p.name}>
            {p.name} — {roleLabel(p)}
          </option>
        ))}
      </select>
    </label>
  );
}

function LocalRoot({ config }: { config: LocalConfig }) {
  const [principals, setPrincipals] = useState<readonly LocalPrincipalEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState<string | null>(chosenPrincipal());
  useEffect(() => {
    localPrincipals(config).then(setPrincipals, (e: Error) => setError(e.message));
  }, [config]);
  if (error) return <ErrorNotice error={error} />;
  if (!principals) return <Loading what="local principals" />;
  const pick = (n: string) => {
    choosePrincipal(n);
    setName(n);
  };
  const principal = principals.find((p) => p.name === name);
  if (!principal) {
    return (
      <main class="signin">
        <h1>Latchkey · API Keys</h1>
        <p>
          Local stack: choose which local principal the console acts as. Each is bound to an admin role; the
          management API decides what it may do.
        </p>
        <PrincipalPicker principals={principals} current={null} onPick={pick} />
      </main>
    );
  }
  return (
    <App
      key={principal.name}
      config={config}
      session={localSession(principal)}
      principalPicker={<PrincipalPicker principals={principals} current={principal.name} onPick={pick} />}
    />
  );
}

function CognitoRoot({ config }: { config: Extract<ConsoleConfig, { mode: 'cognito' }> }) {
  const [session, setSession] = useState<ConsoleSession | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    cognitoSession(config).then(setSession, (e: Error) => setError(e.message));
  }, [config]);
  if (error) return <ErrorNotice error={error} />;
  if (!session) return <Loading what="your session" />;
  return <App config={config} session={session} principalPicker={null} />;
}

function Root() {
  const [config, setConfig] = useState<ConsoleConfig | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    readConfig().then(setConfig, (e: Error) => setError(e.message));
  }, []);
  if (error) return <ErrorNotice error={error} />;
  if (!config) return <Loading what="the console" />;
  return config.mode === 'local' ? <LocalRoot config={config} /> : <CognitoRoot config={config} />;
}

render(<Root />, document.getElementById('app') as HTMLElement);
