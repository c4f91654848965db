import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeSeries, type GeneratedSeries } from '../support/dicom.js';
import { Browser } from '../support/http-browser.js';
import { uploadInstances } from '../support/orthanc.js';
import { startSessionStack, type SessionStack } from '../support/session-stack.js';
import { shareLinkClient } from '../support/share-links.js';

/**
 * Share links with a maximum number of uses (README "Study share links"): two replicas on one Redis,
 * the real dev IdP and Orthanc. A use is one opening of the link that starts a share session.
 */
let stack: SessionStack;
let study: GeneratedSeries;
let onA: ReturnType<typeof shareLinkClient>;
let uploader: Browser;
const json = { accept: 'application/json' };

interface LimitedLink {
  id: string;
  url: string;
  maxUses?: number;
  usesLeft?: number;
}

async function limitedLink(maxUses: number): Promise<LimitedLink> {
  const response = await onA.createShare(uploader, { studyInstanceUID: study.studyInstanceUid, maxUses });
  expect(response.status).toBe(201);
  return (await response.json()) as LimitedLink;
}

async function listed(id: string): Promise<LimitedLink | undefined> {
  const links = (await (await uploader.request(`${stack.gateways[0]!.url}/auth/share`, { headers: json })).json()) as LimitedLink[];
  return links.find((link) => link.id === id);
}

/** Opens the link as an API caller in a fresh browser on replica `index`: the answer and that browser. */
async function openOn(link: LimitedLink, index: number): Promise<{ status: number; body: string; browser: Browser }> {
  const browser = new Browser();
  const response = await browser.request(link.url.replace(stack.publicUrl, stack.gateways[index]!.url), { headers: json });
  return { status: response.status, body: await response.text(), browser };
}

/** Opens the link as a browser's page load (on PUBLIC_URL's replica). */
const navigateTo = (link: LimitedLink) => onA.navigate(link);

beforeAll(async () => {
  stack = await startSessionStack({ replicas: 2 });
  onA = shareLinkClient(stack.publicUrl, stack.gateways[0]!.url);
  study = makeSeries({ modality: 'CT', patientName: 'Uses^Study', patientId: 'P-USES', instances: 1, rows: 16, columns: 16 });
  await uploadInstances(stack.orthanc, study.files);
  uploader = await onA.signedIn('uploader');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('creating a link with maxUses', () => {
  it.each([0, -1, 1.5, 1001, '2'])('refuses maxUses %j (400)', async (maxUses) => {
    const response = await onA.createShare(uploader, { studyInstanceUID: study.studyInstanceUid, maxUses });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/^maxUses: /);
  });

  it('answers and lists maxUses and the uses left; a link without it has neither', async () => {
    const link = await limitedLink(2);
    expect([link.maxUses, link.usesLeft]).toEqual([2, 2]);
    const unlimited = (await (await onA.createShare(uploader, { studyInstanceUID: study.studyInstanceUid })).json()) as LimitedLink;
    expect(Object.keys(unlimited)).not.toContain('maxUses');
    expect(Object.keys((await listed(unlimited.id))!)).not.toContain('usesLeft');
    expect((await listed(link.id))?.usesLeft).toBe(2);
  });
});

describe('opening a limited link', () => {
  it('counts each opening that starts a share session, on either replica; then "Link used up" (page or JSON)', async () => {
    const link = await limitedLink(2);
    const first = await openOn(link, 0);
    expect(first.status).toBe(302);
    expect((await listed(link.id))?.usesLeft).toBe(1);
    // The same recipient opening it again keeps their session: not a use.
    expect((await first.browser.request(link.url.replace(stack.publicUrl, stack.gateways[1]!.url))).status).toBe(302);
    // A signed-in user opening it keeps their own session: not a use either.
    expect((await uploader.request(link.url.replace(stack.publicUrl, stack.gateways[0]!.url))).status).toBe(302);
    expect((await listed(link.id))?.usesLeft).toBe(1);

    const second = await openOn(link, 1);
    expect(second.status).toBe(302);
    expect((await listed(link.id))?.usesLeft).toBe(0);

    const api = await openOn(link, 1);
    expect(api.status).toBe(410);
    expect(JSON.parse(api.body)).toMatchObject({ error: 'gone', message: expect.stringContaining('opened as many times') });
    const navigation = await navigateTo(link);
    expect(navigation.status).toBe(410);
    expect(navigation.body).toContain('<h1>Link used up</h1>');
    expect(navigation.body).toContain('Ask the person who shared this link for a new one.');

    // Those who opened it keep their sessions: the limit is on openings, not on requests.
    for (const { browser } of [first, second]) {
      for (const gateway of stack.gateways) {
        expect((await browser.request(`${gateway.url}/pacs/dicom-web/studies`, { headers: json })).status).toBe(200);
      }
    }
  });

  it('two replicas racing for the last use: exactly one wins, every time', async () => {
    for (let round = 0; round < 5; round++) {
      const link = await limitedLink(1);
      const statuses = (await Promise.all([openOn(link, 0), openOn(link, 1)])).map(({ status }) => status);
      expect(statuses.sort()).toEqual([302, 410]);
      expect((await listed(link.id))?.usesLeft).toBe(0);
    }
  });

  it('many openings at once on both replicas: exactly maxUses of them win', async () => {
    const link = await limitedLink(3);
    const results = await Promise.all(Array.from({ length: 10 }, (_, index) => openOn(link, index % 2)));
    const statuses = results.map(({ status }) => status);
    expect(statuses.filter((status) => status === 302)).toHaveLength(3);
    expect(statuses.filter((status) => status === 410)).toHaveLength(7);
  });

  it('a revoked limited link is gone, not used up', async () => {
    const link = await limitedLink(1);
    expect((await uploader.request(`${stack.gateways[1]!.url}/auth/share/${link.id}`, { method: 'DELETE', headers: { origin: stack.publicUrl } })).status).toBe(204);
    expect((await navigateTo(link)).status).toBe(404);
  });
});
