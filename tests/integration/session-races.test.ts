import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ENDED_SESSION } from '../../src/auth/ended-session-store.js';
import { makeSeries } from '../support/dicom.js';
import { stowBody } from '../support/dicomweb.js';
import { startHeldProxy, type HeldProxy } from '../support/held-proxy.js';
import type { Browser } from '../support/http-browser.js';
import { startSessionStack, type SessionStack, signedInBrowser } from '../support/session-stack.js';

/**
 * Session lifecycle races, made deterministic: two gateway replicas, Redis, Orthanc, and the dev IdP
 * behind a proxy that can hold the IdP's answer to a token refresh. A back-channel logout (sent by
 * the IdP itself, to replica A) that lands while a session is being refreshed or used (on replica
 * B) must end it for good: no save of the refresh, no touch of the request brings it back.
 */
const TOKEN_SECONDS = 12;
let stack: SessionStack;
let proxy: HeldProxy;
let redis: Redis;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const json = { accept: 'application/json' };
const isRefresh = (req: { method?: string; url?: string }) => req.method === 'POST' && (req.url ?? '').endsWith('/protocol/openid-connect/token');

const signedIn = (username: string) => signedInBrowser(stack.gateways[0]!.url, username);

/** The Redis key of the browser's session (`gw:sess:<id>`), read from its signed cookie. */
function sessionKey(browser: Browser): string {
  const id = /^s:([^.]+)\./.exec(decodeURIComponent(browser.cookie('gw-session') ?? ''))?.[1];
  if (!id) throw new Error('no session cookie');
  return `gw:sess:${id}`;
}

beforeAll(async () => {
  stack = await startSessionStack({
    replicas: 2,
    accessTokenLifespan: TOKEN_SECONDS,
    idpFront: async (idpUrl) => (proxy = await startHeldProxy(idpUrl)),
  });
  redis = new Redis(stack.redis.url);
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

it('a back-channel logout landing while the IdP’s refresh answer is on its way is not undone by the refresh', async () => {
  const browser = await signedIn('viewer');
  const key = sessionKey(browser);
  const [a, b] = stack.gateways.map((gateway) => gateway.url);
  await sleep((TOKEN_SECONDS - 2) * 1000); // inside the refresh window
  const held = proxy.holdNext(isRefresh);
  const inFlight = browser.request(`${b}/pacs/dicom-web/studies`, { headers: json });
  await held; // the IdP has issued the new tokens; the gateway does not have them yet

  await stack.idp.endUserSessions('viewer'); // the IdP's logout token, received by replica A
  expect(stack.logs.lines.some((line) => line['msg'] === 'back-channel logout' && line['ended'] === 1)).toBe(true);
  proxy.release();

  expect((await inFlight).status).toBe(401);
  expect(await redis.get(key)).toBe(ENDED_SESSION); // remembered as ended, not revived
  for (const url of [a, b]) expect((await browser.request(`${url}/auth/me`, { headers: json })).status).toBe(401);
}, 40_000);

it('a request in flight during a back-channel logout does not bring the session back when it ends (rolling touch)', async () => {
  const browser = await signedIn('uploader');
  const key = sessionKey(browser);
  const { body, contentType } = stowBody(makeSeries({ modality: 'CT', patientName: 'Race^Upload', patientId: 'P-RACE', instances: 1, rows: 16, columns: 16 }).files);
  let finish: () => void = () => {};
  const lastPart = new Promise<void>((resolve) => (finish = resolve));
  const slowBody = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(body.subarray(0, 100));
      await lastPart;
      controller.enqueue(body.subarray(100));
      controller.close();
    },
  });
  const upload = browser.request(`${stack.gateways[1]!.url}/pacs/dicom-web/studies`, {
    method: 'POST',
    headers: { 'content-type': contentType, origin: stack.publicUrl, ...json },
    body: slowBody,
    duplex: 'half',
  } as RequestInit);
  await sleep(500); // the upload has been authenticated and is streaming to Orthanc

  await stack.idp.endUserSessions('uploader');
  finish();
  await upload; // served or not, it must not revive the session
  expect(await redis.get(key)).toBe(ENDED_SESSION); // remembered as ended, not revived
  expect((await browser.request(`${stack.gateways[1]!.url}/auth/me`, { headers: json })).status).toBe(401);
}, 40_000);
