/** `.local/credentials.json`: management principals, the operator and one role's keys per function. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { functions } from '../../lib/declaration';
import { generatePrincipals, loadOrCreateCredentials } from '../../local/credentials';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-credentials-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mode = (file: string) => statSync(file).mode & 0o777;

it('creates every kind of key once (mode 600) and reads the same ones back', () => {
  const file = join(dir, 'credentials.json');
  const first = loadOrCreateCredentials(file);
  expect(first.created).toBe(true);
  expect(mode(file)).toBe(0o600);
  expect(Object.keys(first.functions).sort()).toEqual(
    Object.values(functions)
      .map((f) => f.name)
      .sort(),
  );
  const ids = [first.operator, ...first.principals, ...Object.values(first.functions)].map(
    (k) => k.access_key_id,
  );
  expect(new Set(ids).size).toBe(ids.length);
  const again = loadOrCreateCredentials(file);
  expect(again).toEqual({ ...first, created: false });
});

it('gives keys to the operator and to functions a file does not have yet, keeping the rest', () => {
  const file = join(dir, 'credentials.json');
  const principals = generatePrincipals();
  const kept = { access_key_id: 'AKIAKEPTKEPTKEPTKEPT', secret_access_key: 'kept' };
  writeFileSync(file, JSON.stringify({ principals, functions: { CreateKey: kept } }), { mode: 0o644 });
  const out = loadOrCreateCredentials(file, ['CreateKey', 'NewFunction']);
  expect(out.created).toBe(false);
  expect(out.principals).toEqual(principals);
  expect(out.functions.CreateKey).toEqual(kept);
  expect(out.functions.NewFunction?.access_key_id).toMatch(/^AKIA[A-Z2-7]{16}$/);
  expect(out.operator.name).toBe('operator');
  // Rewritten with what was added, readable by its owner only.
  expect(mode(file)).toBe(0o600);
  expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
    principals: out.principals,
    operator: out.operator,
    functions: out.functions,
  });
  expect(loadOrCreateCredentials(file, ['CreateKey', 'NewFunction'])).toEqual(out);
});

it('binds one principal per role, the first a super admin with MFA (the one examples use)', () => {
  const principals = generatePrincipals();
  expect(
    principals.map((p) => [p.name, p.binding?.role, p.binding?.organization_id ?? null, p.mfa === true]),
  ).toEqual([
    ['super-admin', 'super_admin', null, true],
    ['org-owner', 'org_owner', 'acme', false],
    ['workspace-admin', 'workspace_admin', 'acme', false],
    ['auditor', 'auditor', 'acme', false],
    ['member', 'member', 'acme', false],
  ]);
  expect(principals[0]?.binding?.root_allowed).toBe(true);
  expect(principals[2]?.binding?.workspace_ids).toEqual(['acme-prod']);
});

it('gives a file written before roles existed the role principals (its unbound ones could do nothing)', () => {
  const file = join(dir, 'credentials.json');
  const old = [
    {
      name: 'admin',
      access_key_id: 'AKIAOLDOLDOLDOLDOLD1',
      secret_access_key: 's1',
      arn: 'arn:aws:iam::000000000000:user/latchkey-admin',
    },
    {
      name: 'auditor',
      access_key_id: 'AKIAOLDOLDOLDOLDOLD2',
      secret_access_key: 's2',
      arn: 'arn:aws:iam::000000000000:user/latchkey-auditor',
    },
  ];
  writeFileSync(file, JSON.stringify({ principals: old }), { mode: 0o600 });
  const out = loadOrCreateCredentials(file);
  expect(out.principals.map((p) => p.name)).toEqual([
    'super-admin',
    'org-owner',
    'workspace-admin',
    'auditor',
    'member',
  ]);
  expect(out.principals.every((p) => p.binding)).toBe(true);
  expect(JSON.parse(readFileSync(file, 'utf8')).principals).toEqual(out.principals);
});
