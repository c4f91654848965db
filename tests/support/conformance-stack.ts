import { makeSeries } from './dicom.js';
import { freePort } from './free-port.js';
import { startTestGateway, type TestGateway } from './gateway.js';
import { Browser, type Step } from './http-browser.js';
import { startIdentityProvider, type IdentityProvider, type ProviderName } from './identity-provider.js';
import { startOrthanc, uploadInstances, type TestOrthanc } from './orthanc.js';
import { startRedis, type TestRedis } from './redis.js';
import { LogSink } from './session-stack.js';

/**
 * The conformance suite's stack around one identity provider: real Orthanc holding studies of two
 * institutions, Redis, and two gateways pointed at the provider:
 *  - `gateway` at PUBLIC_URL (the origin the realm's redirect/back-channel URLs name), reading the
 *    client roles of `orthanc-gateway` too (OIDC_ROLES_CLIENT);
 *  - `byGroups`, Bearer only, with per-study access from the `groups` claim (STUDY_ACCESS_CLAIM);
 *  - `smart`, Bearer only, governing the gateway's client by SMART scopes (SMART_CLIENTS).
 * The export's `patient` account (patient_id DEV-CT-1) owns one study of its own institution.
 */
export interface ConformanceStack {
  provider: IdentityProvider;
  orthanc: TestOrthanc;
  redis: TestRedis;
  gateway: TestGateway;
  byGroups: TestGateway;
  smart: TestGateway;
  publicUrl: string;
  logs: LogSink;
  studies: { 'Hospital A': string[]; 'Hospital B': string[]; patient: string[] };
  /** Signs `username` in through the gateway's /auth/login and the provider's login form; returns the final step. */
  signIn(browser: Browser, username: string, returnTo?: string): Promise<Step>;
  stop(): Promise<void>;
}

async function seed(orthanc: TestOrthanc, institutionName: string, patientIds: string[]): Promise<string[]> {
  const uids: string[] = [];
  for (const patientId of patientIds) {
    const series = makeSeries({ modality: 'CT', patientName: 'Conformance^Test', patientId, institutionName, instances: 1, rows: 16, columns: 16 });
    await uploadInstances(orthanc, series.files);
    uids.push(series.studyInstanceUid);
  }
  return uids;
}

/**
 * What every gateway of the conformance suite sits in front of: the provider (its clients' URLs on
 * `publicUrl`, a free port nothing listens on yet), Orthanc and Redis.
 */
export interface ConformanceUpstreams {
  provider: IdentityProvider;
  orthanc: TestOrthanc;
  redis: TestRedis;
  /** The port of `publicUrl`, for the gateway that serves it. */
  port: number;
  publicUrl: string;
  /** The environment of a gateway in front of them (no PORT / PUBLIC_URL). */
  gatewayEnv: Record<string, string>;
  stop(): Promise<void>;
}

export async function startConformanceUpstreams(name: ProviderName): Promise<ConformanceUpstreams> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const started: Array<{ stop(): Promise<void> }> = [];
  const stop = async () => {
    await Promise.allSettled(started.reverse().map((part) => part.stop()));
  };
  try {
    const [provider, orthanc, redis] = await Promise.all([
      startIdentityProvider(name, { appOrigin: publicUrl }).then((p) => (started.push(p), p)),
      startOrthanc().then((o) => (started.push(o), o)),
      startRedis().then((r) => (started.push(r), r)),
    ]);
    const gatewayEnv = {
      ...provider.gatewayEnv(),
      ORTHANC_URL: orthanc.url,
      ORTHANC_USERNAME: orthanc.username,
      ORTHANC_PASSWORD: orthanc.password,
      REDIS_URL: redis.url,
      SESSION_SECRET: 'conformance-session-secret-0123456789abcdef0123',
      RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
      RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '1000',
    };
    return { provider, orthanc, redis, port, publicUrl, gatewayEnv, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function startConformanceStack(name: ProviderName): Promise<ConformanceStack> {
  const upstreams = await startConformanceUpstreams(name);
  const { provider, orthanc, redis, port, publicUrl } = upstreams;
  const started: Array<{ stop(): Promise<void> }> = [upstreams];
  try {
    const studies = {
      'Hospital A': await seed(orthanc, 'Hospital A', ['CA-1', 'CA-2']),
      'Hospital B': await seed(orthanc, 'Hospital B', ['CB-1']),
      patient: await seed(orthanc, 'Patient Clinic', ['DEV-CT-1']),
    };
    const logs = new LogSink();
    const common = { ...upstreams.gatewayEnv, LOG_LEVEL: 'info' };
    const gateway = await startTestGateway({ ...common, PORT: String(port), PUBLIC_URL: publicUrl, OIDC_ROLES_CLIENT: 'orthanc-gateway' }, { logDestination: logs });
    started.push({ stop: () => gateway.close(1000) });
    const byGroups = await startTestGateway({ ...common, LOG_LEVEL: 'silent', STUDY_ACCESS_CLAIM: 'groups' });
    started.push({ stop: () => byGroups.close(1000) });
    const smart = await startTestGateway({ ...common, LOG_LEVEL: 'silent', SMART_CLIENTS: 'orthanc-gateway' });
    started.push({ stop: () => smart.close(1000) });
    return {
      provider,
      orthanc,
      redis,
      gateway,
      byGroups,
      smart,
      publicUrl,
      logs,
      studies,
      signIn: (browser, username, returnTo = '/auth/me') =>
        provider.signInWithForm(browser, new URL(`/auth/login?returnTo=${encodeURIComponent(returnTo)}`, publicUrl), username, []),
      stop: async () => {
        await Promise.allSettled(started.reverse().map((part) => part.stop()));
      },
    };
  } catch (error) {
    await Promise.allSettled(started.reverse().map((part) => part.stop()));
    throw error;
  }
}
