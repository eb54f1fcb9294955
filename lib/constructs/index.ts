/**
 * `latchkey/constructs`: what a product team's CDK app imports to protect its own API with a
 * deployed Latchkey (docs/protecting-apis.md).
 */

export { DEFAULT_PARAMETER_PREFIX, PARAMETERS, STAGE_VARIABLES } from '../consumer-contract';
export {
  addLatchkeyGatewayResponses,
  type LatchkeyAuthorizerOptions,
  LatchkeyHttpApiAuthorizer,
  type LatchkeyHttpApiAuthorizerProps,
  LatchkeyRestApiAuthorizer,
  type LatchkeyRestApiAuthorizerProps,
  type TokenHeader,
} from './protected-api';
