/**
 * Issue 18: every page of the gateway's own, as Chromium shows it — sendErrorPage's real answer
 * (headers, Content-Security-Policy, HTML) served over HTTP, checked for its look and its next step.
 * The screenshots go to test-artifacts/e2e/gateway-pages/; with UPDATE_SCREENSHOTS=1 also to
 * docs/screenshots/, the pictures the README shows.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import type { Browser } from 'playwright-core';
import { sendErrorPage } from '../../src/respond/error-page.js';
import { PAGES } from '../../src/respond/gateway-pages.js';
import { requestState } from '../../src/respond/request-state.js';
import { keepForDocs, launchChromium, newPage, Screenshots } from '../support/chromium.js';

/** Who the pages for signed-in users name. */
const SIGNED_IN: Partial<Record<keyof typeof PAGES, string>> = {
  noPacsRole: 'norole',
  archiveForbidden: 'viewer-a',
  adminForbidden: 'viewer',
  blockedEndpoint: 'admin',
  shareForbidden: 'viewer',
  studyNotFound: 'viewer-a',
};
const MAIN_ACTION: Record<keyof typeof PAGES, { role: 'link' | 'button' | 'text'; name: string }> = {
  signedOut: { role: 'link', name: 'Sign in again' },
  signInExpired: { role: 'link', name: 'Sign in again' },
  signInFailed: { role: 'link', name: 'Sign in again' },
  identityProviderUnavailable: { role: 'link', name: 'Try again' },
  noPacsRole: { role: 'button', name: 'Sign out' },
  archiveForbidden: { role: 'link', name: 'Back to the viewer' },
  adminForbidden: { role: 'link', name: 'Back to the viewer' },
  blockedEndpoint: { role: 'link', name: 'Back to Orthanc Explorer' },
  shareForbidden: { role: 'link', name: 'Back to the viewer' },
  studyNotFound: { role: 'link', name: 'Back to the viewer' },
  shareLinkInvalid: { role: 'text', name: 'Ask the person who shared this link for a new one.' },
  shareLinkUsedUp: { role: 'text', name: 'Ask the person who shared this link for a new one.' },
  shareLinkPaused: { role: 'text', name: 'Ask the person who shared this link for a new one.' },
  temporarilyUnavailable: { role: 'link', name: 'Try again' },
  rateLimited: { role: 'link', name: 'Try again' },
};

let browser: Browser;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  const app = express();
  app.get('/pages/:name', (req, res) => {
    const name = String(req.params['name']) as keyof typeof PAGES;
    requestState(res).requestId = '3f1c9a62-5d0b-4e8a-9c47-1b2e6d8f0a35'; // fixed, so the screenshots stay the same
    const signedInAs = SIGNED_IN[name];
    sendErrorPage(res, PAGES[name], signedInAs ? { signedInAs } : {});
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('the gateway pages in Chromium', () => {
  it.each(Object.keys(PAGES) as Array<keyof typeof PAGES>)('%s: styled under the strict CSP, title and main action visible', async (name) => {
    const shots = new Screenshots(`gateway pages ${name}`);
    const { context, page, watch } = await newPage(browser);
    try {
      await shots.run([page], async () => {
        const response = await page.goto(`${baseUrl}/pages/${name}`);
        expect(response?.status()).toBe(PAGES[name].status);
        expect(response?.headers()['content-security-policy']).toMatch(/^default-src 'none'; style-src 'sha256-/);
        await page.getByRole('heading', { level: 1, name: PAGES[name].title }).waitFor({ state: 'visible' });
        const action = MAIN_ACTION[name];
        const target = action.role === 'text' ? page.getByText(action.name) : page.getByRole(action.role, { name: action.name });
        await target.first().waitFor({ state: 'visible' });
        // The stylesheet applied (its hash allowed it): the card has its rounded border and is centred.
        const card = (await page.evaluate(`(() => { const s = getComputedStyle(document.querySelector('main')); const r = document.querySelector('main').getBoundingClientRect(); return { radius: s.borderTopLeftRadius, left: r.left, right: innerWidth - r.right }; })()`)) as { radius: string; left: number; right: number };
        expect(card.radius).toBe('12px');
        expect(Math.abs(card.left - card.right)).toBeLessThan(2);
        expect(watch.cspViolations).toEqual([]);
        expect(watch.responses.map((r) => r.url())).toEqual([`${baseUrl}/pages/${name}`]); // nothing else loaded
        keepForDocs(await shots.shot(page, name), name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));
      });
    } finally {
      await context.close();
    }
  }, 60_000);
});
