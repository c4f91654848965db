import { startTestGateway, type TestGateway } from './gateway.js';
import { startOrthanc, type TestOrthanc } from './orthanc.js';
import { startTestIssuer, type TestIssuer } from './test-issuer.js';

export interface BearerStack {
  orthanc: TestOrthanc;
  issuer: TestIssuer;
  gateway: TestGateway;
  /** Starts another gateway on the same Orthanc and issuer, with `env` on top (stopping it is the caller's). */
  startGateway(env: Record<string, string>): Promise<TestGateway>;
  stop(): Promise<void>;
}

/**
 * The Bearer-token stack with real components: a test Orthanc, the in-process test issuer, and one
 * gateway in front of them with `env` on top of the settings that connect it.
 */
export async function startBearerStack(env: Record<string, string> = {}): Promise<BearerStack> {
  const [orthanc, issuer] = await Promise.all([startOrthanc(), startTestIssuer()]);
  const stopUpstreams = () => Promise.all([orthanc.stop(), issuer.stop()]);
  const startGateway = (extraEnv: Record<string, string>) =>
    startTestGateway({
      OIDC_ISSUER: issuer.issuer,
      ORTHANC_URL: orthanc.url,
      ORTHANC_USERNAME: orthanc.username,
      ORTHANC_PASSWORD: orthanc.password,
      ...extraEnv,
    });
  const gateway = await startGateway(env).catch(async (error: unknown) => {
    await stopUpstreams();
    throw error;
  });
  return {
    orthanc,
    issuer,
    gateway,
    startGateway,
    stop: async () => {
      await gateway.close(1000);
      await stopUpstreams();
    },
  };
}
