import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startSessionStack, type SessionStack, signedInBrowser } from '../support/session-stack.js';

/**
 * Access-token refresh for browser sessions, with two gateway replicas sharing Redis and a dev IdP
 * issuing 12-second access tokens: a refresh is due in the last quarter (3 s) of a token's life, and
 * the refreshed token stays fresh for 9 s, long enough for a burst on a busy 2-core machine.
 */
const TOKEN_SECONDS = 12;
let stack: SessionStack;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const json = { accept: 'application/json' };

const signedInViewer = () => signedInBrowser(stack.gateways[0]!.url, 'viewer');

beforeAll(async () => {
  stack = await startSessionStack({ replicas: 2, accessTokenLifespan: TOKEN_SECONDS });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

it('refreshes once for 50 parallel requests spread over two replicas', async () => {
  const browser = await signedInViewer();
  const before = stack.logs.count('session access token refreshed');
  await sleep((TOKEN_SECONDS - 2) * 1000); // inside the refresh window, not yet expired
  const [a, b] = stack.gateways.map((gateway) => gateway.url);
  const statuses = await Promise.all(
    Array.from({ length: 50 }, (_, index) =>
      browser.request(`${index % 2 ? a : b}/pacs/dicom-web/studies`, { headers: json }).then((response) => response.status),
    ),
  );
  expect(statuses).toEqual(Array(50).fill(200));
  expect(stack.logs.count('session access token refreshed') - before).toBe(1);

  // The refreshed session keeps working on both replicas.
  for (const url of [a, b]) expect((await browser.request(`${url}/auth/me`, { headers: json })).status).toBe(200);
}, 30_000);

it('ends the session cleanly when the refresh fails (IdP down): 401, then sign-in again', async () => {
  const browser = await signedInViewer();
  await stack.idp.stop();
  await sleep((TOKEN_SECONDS - 2) * 1000); // refresh due: it fails, the IdP is gone
  const response = await browser.request(`${stack.gateways[0]!.url}/pacs/dicom-web/studies`, { headers: json });
  expect(response.status).toBe(401);
  expect(stack.logs.lines.some((line) => line['msg'] === 'session ended: token refresh failed')).toBe(true);
  const again = await browser.request(`${stack.gateways[1]!.url}/auth/me`, { headers: json });
  expect(again.status).toBe(401);
}, 30_000);
