import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect } from "vitest";
import { BrokerStack } from "../../src/infra/broker-stack.js";
import { DEFAULT_CLOUDWATCH_NAMESPACE } from "../../src/config/environment.js";
import type { BrokerUnderTest } from "../support/broker-under-test.js";
import { emulatorTest } from "../support/fixtures.js";

/**
 * The broker's figures for CloudWatch (src/http/cloudwatch-metrics.ts): embedded metric format
 * lines in its log, as the CDK service runs it (METRICS_CLOUDWATCH=emf), read back from a real
 * broker's log, and compared with what the stack's alarms read.
 */
const it = emulatorTest({ METRICS_CLOUDWATCH: "emf", REDIS_URL: "redis://127.0.0.1:6379" });

interface EmfLine {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [name: string]: unknown;
}

async function publishAndRead(broker: BrokerUnderTest): Promise<EmfLine> {
  const before = broker.logs.length;
  await broker.broker.cloudWatch!.publish();
  const lines = broker.logs.slice(before).map((l) => JSON.parse(l) as { event?: string }).filter((l) => l.event === "cloudwatch_metrics");
  expect(lines).toHaveLength(1);
  return lines[0] as unknown as EmfLine;
}

describe("figures for CloudWatch", () => {
  it("are one embedded-metric-format line: every metric declared has its value beside it", async ({ broker }) => {
    const line = await publishAndRead(broker);
    const [directive] = line._aws.CloudWatchMetrics;
    expect(directive!.Namespace).toBe(DEFAULT_CLOUDWATCH_NAMESPACE);
    expect(directive!.Dimensions).toEqual([[]]);
    expect(typeof line._aws.Timestamp).toBe("number");
    for (const { Name } of directive!.Metrics) expect(typeof line[Name], Name).toBe("number");
    expect(line).toMatchObject({ Ready: 1, DatabaseUp: 1, RedisUp: 1, TenantCutoffs: 0, UpstreamBudgetRefusals: 0, DenyListFillMax: 0 });
  });

  it("count what happened since the last line, not since the start", async ({ broker }) => {
    await publishAndRead(broker);
    for (let i = 0; i < 3; i++) await fetch(new URL("/no-such-page", broker.url));
    const line = await publishAndRead(broker);
    expect(line).toMatchObject({ HttpRequests: 3, Http5xx: 0 });
    expect(await publishAndRead(broker)).toMatchObject({ HttpRequests: 0 });
  });

  it("hold every name the CDK stack's alarms read from the broker", async ({ broker }) => {
    const emitted = (await publishAndRead(broker))._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name);
    const template = Template.fromStack(
      new BrokerStack(new App({ outdir: join(process.env.TMPDIR ?? "/tmp", `cdk-emf-${process.pid}`) }), "Alarms", { env: { account: "123456789012", region: "eu-west-1" } }),
    );
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    const read = alarms.flatMap((a) => (a.Metrics ? a.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric) : [{ Namespace: a.Namespace, MetricName: a.MetricName }]));
    const fromBroker = read.filter((m) => m.Namespace === DEFAULT_CLOUDWATCH_NAMESPACE).map((m) => m.MetricName as string);
    expect(fromBroker.length).toBeGreaterThanOrEqual(7);
    expect(emitted).toEqual(expect.arrayContaining(fromBroker));
  }, 60_000);
});
