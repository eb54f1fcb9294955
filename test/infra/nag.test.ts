/**
 * cdk-nag (v3: a policy-validation plugin, so findings are read from its report, not from
 * Annotations): the AwsSolutions pack finds nothing unacknowledged, errors or warnings, and every
 * acknowledgment says why.
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { LatchkeyStack } from '../../lib/latchkey-stack';
import { testApp } from './helpers';

let stack: LatchkeyStack;

beforeAll(() => {
  const app = testApp();
  stack = new LatchkeyStack(app, 'LatchkeyStack');
  app.synth();
});

it('has no unacknowledged AwsSolutions finding, error or warning', () => {
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
  const findings = report.violations.map((v) => ({
    rule: v.ruleName,
    severity: v.severity,
    at: v.violatingResources.map((r) => r.constructPath),
  }));
  expect(findings).toEqual([]);
  expect(report.success).toBe(true);
});

it('gives every acknowledgment a reason a reviewer can check', () => {
  const acknowledged = stack.node
    .findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
    .flatMap((m) => Object.entries(m.data as Record<string, string>));
  expect(acknowledged.length).toBeGreaterThan(0);
  for (const [rule, reason] of acknowledged) {
    expect([rule, reason.length >= 80]).toEqual([rule, true]);
  }
});
