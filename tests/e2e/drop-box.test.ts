/**
 * Issue 18, upload-only "drop box" links in real Chromium: the dev IdP, Orthanc + DICOMweb and Redis
 * (no OHIF needed). An uploader creates a one-use drop-box link on /share-links; an outside clinic
 * opens it, sends two files through the upload page (multipart/related built in the page) and can
 * read nothing; a second person gets "Link used up".
 *
 * Screenshots of every step: test-artifacts/e2e/<test>/; with UPDATE_SCREENSHOTS=1 the upload page
 * also goes to docs/screenshots/drop-box.png.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { keepForDocs, launchChromium, withPages } from '../support/chromium.js';
import { makeSeries } from '../support/dicom.js';
import { submitIdpLogin } from '../support/ohif.js';
import { orthancFetch } from '../support/orthanc.js';
import { DEV_PASSWORDS, startSessionStack, type SessionStack } from '../support/session-stack.js';

let stack: SessionStack;
let browser: Browser;
let gatewayUrl: string;
const STEP_TIMEOUT = 60_000;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startSessionStack(), launchChromium()]);
  gatewayUrl = stack.publicUrl;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

it('uploader creates a one-use drop box on /share-links; the holder sends two files through the upload page and reads nothing; a second person gets "Link used up"', async () => {
  const sent = makeSeries({ modality: 'CT', patientName: 'Outside^Clinic', patientId: 'E2E-DROP', instances: 2, rows: 32, columns: 32, studyDescription: 'Sent by an outside clinic' });
  await withPages(browser, 'drop box upload', ['uploader', 'holder', 'late'], async ({ uploader, holder, late }, shots) => {
    const all = [uploader, holder, late];
    const page = uploader.page;
    await page.goto(`${gatewayUrl}/share-links`);
    await submitIdpLogin(page, 'uploader', DEV_PASSWORDS['uploader'] ?? '');
    await page.waitForURL((url) => url.origin === gatewayUrl && url.pathname === '/share-links', { timeout: STEP_TIMEOUT });
    await page.getByLabel('Opens at most').selectOption({ label: 'Once' });
    const created = page.waitForResponse((response) => response.url() === `${gatewayUrl}/auth/share` && response.request().method() === 'POST');
    await page.getByRole('button', { name: 'Create drop-box link' }).click();
    const answer = await created;
    expect(answer.status()).toBe(201);
    const link = (await answer.json()) as { url: string; dropBox: boolean; maxUses: number };
    expect([link.dropBox, link.maxUses]).toEqual([true, 1]);
    await page.locator('#links tbody tr', { hasText: 'Drop box (upload only)' }).waitFor({ timeout: STEP_TIMEOUT });
    await shots.shot(page, 'uploader created a drop box');

    // The outside clinic opens the link: the upload page, no viewer.
    await holder.page.goto(link.url);
    await holder.page.waitForURL((url) => url.origin === gatewayUrl && url.pathname === '/share/upload', { timeout: STEP_TIMEOUT });
    await holder.page.getByRole('heading', { level: 1, name: 'Send studies' }).waitFor();
    await holder.page.getByText('This drop box was shared by uploader.').waitFor();
    await holder.page.getByLabel('DICOM files').setInputFiles(
      sent.files.map((file, index) => ({ name: `image-${index + 1}.dcm`, mimeType: 'application/dicom', buffer: Buffer.from(file) })),
    );
    await holder.page.getByRole('button', { name: 'Send' }).click();
    await holder.page.getByText('Done: 2 of 2 files sent.').waitFor({ timeout: STEP_TIMEOUT });
    await expect(holder.page.evaluate("document.getElementById('progress').value")).resolves.toBe(2);
    keepForDocs(await shots.shot(holder.page, 'holder sent two files'), 'drop-box');

    // Both instances are in Orthanc.
    const stored = await orthancFetch(stack.orthanc, `/dicom-web/studies/${sent.studyInstanceUid}/instances`, { headers: { accept: 'application/dicom+json' } });
    expect(((await stored.json()) as unknown[]).length).toBe(2);

    // The holder reads nothing: not the study they sent, not the viewer.
    const read = await holder.page.goto(`${gatewayUrl}/pacs/dicom-web/studies/${sent.studyInstanceUid}/metadata`);
    expect(read?.status()).toBe(403);
    await holder.page.getByRole('heading', { level: 1, name: 'No access to the image archive' }).waitFor();
    await shots.shot(holder.page, 'holder refused a read');

    // The one use is spent.
    const usedUp = await late.page.goto(link.url);
    expect(usedUp?.status()).toBe(410);
    await late.page.getByRole('heading', { level: 1, name: 'Link used up' }).waitFor();
    await shots.shot(late.page, 'second person refused');
    for (const { watch } of all) {
      expect(watch.cspViolations).toEqual([]);
      expect(watch.dialogs).toEqual([]);
    }
  });
}, 240_000);
