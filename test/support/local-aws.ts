import { bootstrapAws, type StackInfo } from "../../src/dev/bootstrap.js";
import { startMoto, type MotoServer } from "../../src/dev/moto.js";

export const TEST_REGION = "eu-west-1";

export interface LocalAws {
  moto: MotoServer;
  stack: StackInfo;
  stop(): Promise<void>;
}

/** A moto server on a free loopback port with the broker's AWS side bootstrapped into it. */
export async function startLocalAws(): Promise<LocalAws> {
  const moto = await startMoto();
  try {
    const stack = await bootstrapAws({ region: TEST_REGION, endpoint: moto.endpoint, name: "test" });
    return { moto, stack, stop: () => moto.stop() };
  } catch (error) {
    await moto.stop();
    throw error;
  }
}
