/** The functions' side of the environment contract: parsed on use, no defaults, errors name the variable. */

import { setting, tableName } from '../../functions/shared/config';
import { functions } from '../../lib/declaration';
import { functionEnvironment, SETTINGS } from '../../lib/function-environment';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

it('fails on a missing variable, naming it', () => {
  delete process.env.AUDIT_RETENTION_DAYS;
  expect(() => setting('auditRetentionDays')).toThrow('Missing environment variable AUDIT_RETENTION_DAYS');
  delete process.env.KEYS_TABLE_NAME;
  expect(() => tableName('keys')).toThrow('KEYS_TABLE_NAME');
});

it.each([
  ['AUDIT_RETENTION_DAYS', '400 days'],
  ['EXPIRY_THRESHOLDS_DAYS', '14,,1'],
  ['LATCHKEY_API_KEYS_ENABLED', 'yes'],
  ['LATCHKEY_API_ENVIRONMENT', 'prod'],
  ['LATCHKEY_ROUTE_SCOPES', '{"GET /x": 1}'],
  ['LATCHKEY_ROUTE_SCOPES', 'not json'],
  ['LATCHKEY_ACCOUNT_ID', '12345'],
  ['LATCHKEY_API_CACHE_SECONDS', '-1'],
  ['LATCHKEY_KEY_CACHE_SECONDS', '-1'],
  ['LATCHKEY_IP_COOL_DOWN', '20,60'],
  ['LATCHKEY_SUSPICIOUS_IPS', '20,sixty'],
])('fails on a malformed %s (%s), naming it', (name, value) => {
  process.env[name] = value;
  const key = (Object.keys(SETTINGS) as (keyof typeof SETTINGS)[]).find((k) => SETTINGS[k].name === name);
  expect(key).toBeDefined();
  expect(() => setting(key as keyof typeof SETTINGS)).toThrow(`Environment variable ${name} is invalid`);
});

it('reads back exactly what the builder wrote', () => {
  const values = {
    auditRetentionDays: 30,
    expiryThresholdsDays: [10, 2],
    apiKeysEnabled: false,
    apiEnvironment: null,
    routeScopes: { 'GET /orders': 'orders:read' },
    accountId: '111122223333',
    apiCacheSeconds: 15,
    keyCacheSeconds: 5,
    sourceIpCoolDown: { invalidTokens: 7, windowSeconds: 30, coolDownSeconds: 600 },
    suspiciousSourceIps: { distinctIps: 0, windowMinutes: 15 },
  };
  const written = {
    ...functionEnvironment(functions.authorizer, {
      tables: { keys: 'k', counters: 'c', audit: 'a', apis: 'p' },
      settings: values,
    }),
    ...functionEnvironment(functions.expiryScanner, {
      tables: { keys: 'k', counters: 'c', audit: 'a' },
      eventBusName: 'bus',
      settings: values,
    }),
    [SETTINGS.apiKeysEnabled.name]: 'false',
  };
  Object.assign(process.env, written);
  expect(setting('auditRetentionDays')).toBe(30);
  expect(setting('expiryThresholdsDays')).toEqual([10, 2]);
  expect(setting('apiKeysEnabled')).toBe(false);
  expect(setting('apiEnvironment')).toBeNull();
  expect(setting('routeScopes')).toEqual({ 'GET /orders': 'orders:read' });
  expect(setting('accountId')).toBe('111122223333');
  expect(setting('apiCacheSeconds')).toBe(15);
  expect(setting('keyCacheSeconds')).toBe(5);
  expect(setting('sourceIpCoolDown')).toEqual({ invalidTokens: 7, windowSeconds: 30, coolDownSeconds: 600 });
  expect(setting('suspiciousSourceIps')).toEqual({ distinctIps: 0, windowMinutes: 15 });
  expect(tableName('counters')).toBe('c');
  expect(tableName('apis')).toBe('p');
});

it('re-reads a variable that changed (tests and the local stack repoint the same process)', () => {
  process.env.AUDIT_RETENTION_DAYS = '10';
  expect(setting('auditRetentionDays')).toBe(10);
  process.env.AUDIT_RETENTION_DAYS = '20';
  expect(setting('auditRetentionDays')).toBe(20);
});

it('refuses to build an environment a function needs without a value, naming both', () => {
  expect(() =>
    functionEnvironment(functions.authorizer, {
      tables: { keys: 'k', apis: 'p', counters: 'c' },
      settings: {},
    }),
  ).toThrow('Authorizer needs the audit table');
  expect(() =>
    functionEnvironment(functions.expiryScanner, {
      tables: { keys: 'k', counters: 'c', audit: 'a' },
      eventBusName: 'bus',
      settings: {},
    }),
  ).toThrow('ExpiryScanner needs setting expiryThresholdsDays');
});
