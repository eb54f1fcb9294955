import { arnMatches, evaluatePolicy, InvalidPolicyError } from '../../local/policy';

const arn = 'arn:aws:execute-api:us-east-1:000000000000:local/local/GET/demo/agents';
const policy = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });
const allow = (Resource: string | string[], Action: string | string[] = 'execute-api:Invoke') => ({
  Effect: 'Allow',
  Action,
  Resource,
});
const deny = (Resource: string | string[]) => ({ Effect: 'Deny', Action: 'execute-api:Invoke', Resource });

describe('authorizer policy evaluation (as API Gateway)', () => {
  it('allows when an Allow statement names the method ARN', () => {
    expect(evaluatePolicy(policy(allow(arn)), arn)).toBe('allow');
  });

  it('lets an explicit Deny win over a matching Allow', () => {
    expect(evaluatePolicy(policy(allow('*'), deny(arn)), arn)).toBe('explicit-deny');
    expect(evaluatePolicy(policy(deny(arn), allow(arn)), arn)).toBe('explicit-deny');
  });

  it('matches wildcard resources', () => {
    expect(
      evaluatePolicy(policy(allow('arn:aws:execute-api:us-east-1:000000000000:local/local/GET/*')), arn),
    ).toBe('allow');
    expect(evaluatePolicy(policy(allow('arn:aws:execute-api:*:*:local/*/*/demo/*')), arn)).toBe('allow');
    expect(
      evaluatePolicy(
        policy(allow('arn:aws:execute-api:us-east-1:000000000000:local/local/?ET/demo/agents')),
        arn,
      ),
    ).toBe('allow');
    expect(evaluatePolicy(policy(allow('*')), arn)).toBe('allow');
  });

  it('denies implicitly when nothing matches', () => {
    expect(
      evaluatePolicy(policy(allow('arn:aws:execute-api:us-east-1:000000000000:local/local/POST/*')), arn),
    ).toBe('implicit-deny');
    expect(evaluatePolicy(policy(allow(arn, 's3:GetObject')), arn)).toBe('implicit-deny');
    expect(evaluatePolicy(policy(), arn)).toBe('implicit-deny');
  });

  it('accepts one statement object, lists of resources and action wildcards', () => {
    expect(evaluatePolicy({ Statement: allow(['arn:nope', arn], 'execute-api:*') }, arn)).toBe('allow');
    expect(evaluatePolicy(policy(allow(arn, 'EXECUTE-API:invoke')), arn)).toBe('allow');
  });

  it('never lets a wildcard span the ARN fields before the resource', () => {
    expect(arnMatches('arn:aws:execute-api:us-*', arn)).toBe(false);
    expect(arnMatches('arn:aws:execute-api:us-east-1:000000000000:local/*', arn)).toBe(true);
    expect(arnMatches('arn:aws:execute-api:us-east-1:000000000000:local/local/GET/demo', arn)).toBe(false);
  });

  it('rejects malformed policies (API Gateway answers 500)', () => {
    expect(() => evaluatePolicy(undefined, arn)).toThrow(InvalidPolicyError);
    expect(() =>
      evaluatePolicy({ Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] }, arn),
    ).toThrow(InvalidPolicyError);
    expect(() => evaluatePolicy(policy({ ...allow('*'), NotResource: arn }), arn)).toThrow(
      InvalidPolicyError,
    );
    expect(() => evaluatePolicy(policy(allow([])), arn)).toThrow(InvalidPolicyError);
  });
});
