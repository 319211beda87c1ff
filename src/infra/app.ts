/**
 * CDK app: `npx aws-cdk@2 deploy --app "npx tsx src/infra/app.ts"` deploys the broker's AWS side;
 * `npm run infra:synth` writes the CloudFormation template without touching AWS.
 */
import { App } from "aws-cdk-lib";
import { BrokerStack } from "./broker-stack.js";

const app = new App({ outdir: process.env.CDK_OUTDIR ?? "cdk.out" });
new BrokerStack(app, process.env.BROKER_STACK_NAME ?? "S3AccessBroker", {
  prefixTemplate: process.env.S3_PREFIX_TEMPLATE ?? "tenants/{tenant}/",
  // BROKER_SERVICE=false: only the AWS side, for a broker run elsewhere (docs/operators.md).
  ...(process.env.BROKER_SERVICE === "false" ? { service: false as const } : {}),
  ...(process.env.CDK_DEFAULT_ACCOUNT ? { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } } : {}),
});
app.synth();
