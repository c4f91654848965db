import type { Response } from 'express';
import type { GatewayPage, NextStep } from './gateway-pages.js';
import { requestState } from './request-state.js';
import { escapeHtml, renderDocument, sendDocument, type PageDocument } from './page-document.js';

const SIGN_OUT_FORM = '<form method="post" action="/auth/logout"><button type="submit"%CLASS%>Sign out</button></form>';

function renderStep(step: NextStep, primary: boolean): string {
  const cls = primary ? 'button primary' : 'button';
  switch (step) {
    case 'sign-in-again':
      return `<a class="${cls}" href="/auth/login">Sign in again</a>`;
    case 'back-to-viewer':
      return `<a class="${cls}" href="/">Back to the viewer</a>`;
    case 'back-to-explorer':
      return `<a class="${cls}" href="/pacs-admin/app/explorer.html">Back to Orthanc Explorer</a>`;
    case 'try-again':
      // An empty href is the page's own address: nothing of the URL is written into the page.
      return `<a class="${cls}" href="">Try again</a>`;
    case 'sign-out':
      return SIGN_OUT_FORM.replace('%CLASS%', primary ? ' class="primary"' : '');
    case 'ask-sharer':
      return '<p class="hint">Ask the person who shared this link for a new one.</p>';
  }
}

export interface PageContext {
  requestId: string;
  /** The signed-in user's name, from their verified token (never from the request). */
  signedInAs?: string | undefined;
}

function errorDocument(page: GatewayPage, { requestId, signedInAs }: PageContext): PageDocument {
  const who = signedInAs === undefined ? '' : `<p>You are signed in as ${escapeHtml(signedInAs)}.</p>`;
  const steps = page.steps.map((step, index) => renderStep(step, index === 0)).join('');
  return {
    title: page.title,
    main:
      `<p class="brand">Image archive</p><h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.message)}</p>${who}` +
      `<div class="actions">${steps}</div><p class="request">Request ${escapeHtml(requestId)}</p>`,
  };
}

/** The HTML of a gateway page: fixed texts, the user's name and request id escaped. */
export const renderGatewayPage = (page: GatewayPage, context: PageContext): string => renderDocument(errorDocument(page, context)).html;

/** The Content-Security-Policy of these pages (no script; the stylesheet by its hash). */
export const GATEWAY_PAGE_CSP = renderDocument({ title: '', main: '' }).csp;

/** Answers with a gateway page, never cached. `status` overrides the page's own (e.g. 502 vs 504). */
export function sendErrorPage(res: Response, page: GatewayPage, { signedInAs, status }: { signedInAs?: string; status?: number } = {}): void {
  sendDocument(res, status ?? page.status, errorDocument(page, { requestId: String(requestState(res).requestId ?? ''), signedInAs }));
}
