import type { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { startTestGateway, type TestGateway } from './gateway.js';
import { startTestIssuer, type TestIssuer } from './test-issuer.js';

export interface StandInStack {
  issuer: TestIssuer;
  gateway: TestGateway;
  /** Stops the gateway, the issuer and the stand-in upstream. */
  stop(): Promise<void>;
}

/**
 * The gateway (in-process, with a test issuer) in front of a test's own stand-in for Orthanc (a
 * node:http or node:net server): for the gateway's transport, where a fault must be injected exactly.
 */
export async function startGatewayBeforeStandIn(upstream: Server | HttpServer): Promise<StandInStack> {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const closeUpstream = () => {
    if ('closeAllConnections' in upstream) upstream.closeAllConnections();
    return new Promise((resolve) => upstream.close(resolve));
  };
  let issuer: TestIssuer | undefined;
  try {
    issuer = await startTestIssuer();
    const gateway = await startTestGateway({
      OIDC_ISSUER: issuer.issuer,
      ORTHANC_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      ORTHANC_USERNAME: 'gateway',
      ORTHANC_PASSWORD: 'upstream-password',
    });
    const started = issuer;
    return {
      issuer,
      gateway,
      stop: async () => {
        await gateway.close(1000);
        await started.stop();
        await closeUpstream();
      },
    };
  } catch (error) {
    await issuer?.stop();
    await closeUpstream();
    throw error;
  }
}
