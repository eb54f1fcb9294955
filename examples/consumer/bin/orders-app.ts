// examples/consumer/bin/orders-app.ts
import { App } from 'aws-cdk-lib';
import { OrdersStack } from '../lib/orders-stack.js';

const app = new App();

// In Latchkey's own account: the authorizer's ARN comes from Latchkey's SSM parameter.
new OrdersStack(app, 'OrdersSameAccount', { env: { account: '111111111111', region: 'eu-west-1' } });

// In another account of the organization: give the ARN. Latchkey's operators add this account to
// `latchkey:consumerAccounts`, and the registration lists it in `accounts`.
new OrdersStack(app, 'OrdersOtherAccount', {
  env: { account: '222222222222', region: 'eu-west-1' },
  latchkeyAuthorizerArn: app.node.tryGetContext('latchkeyAuthorizerArn'),
});

app.synth();
