/**
 * The lean path's pieces: runStages (Express 5's middleware semantics without its router), the
 * node:http dispatch of raw targets (isProxiedTarget), and adoptRequest (what app.handle prepares).
 */
import { describe, expect, it } from '@jest/globals';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { isProxiedTarget } from '../../src/request/classify.js';
import { adoptRequest, runStages } from '../../src/pipeline.js';

type Outcome = { error: unknown; ran: string[] };

/** Runs the stages on empty request/response objects; resolves with what `finish` heard. */
function run(stages: (ran: string[]) => RequestHandler[]): Promise<Outcome> {
  const ran: string[] = [];
  return new Promise((resolve) => runStages(stages(ran), {} as Request, {} as Response, (error) => resolve({ error, ran })));
}

const pass = (name: string): ((ran: string[]) => RequestHandler) => (ran) => (_req, _res, next) => {
  ran.push(name);
  next();
};

describe('runStages', () => {
  it('runs every stage in order and finishes without an error after the last one', async () => {
    const outcome = await run((ran) => [pass('a')(ran), pass('b')(ran), pass('c')(ran)]);
    expect(outcome).toEqual({ error: undefined, ran: ['a', 'b', 'c'] });
  });

  it('stops at next(error), a thrown error and a rejected promise, with that error', async () => {
    const failure = new Error('no');
    const stops: Array<(ran: string[]) => RequestHandler> = [
      () => (_req, _res, next) => next(failure),
      () => () => {
        throw failure;
      },
      () => async () => {
        await Promise.resolve();
        throw failure;
      },
    ];
    for (const stop of stops) {
      const outcome = await run((ran) => [pass('a')(ran), stop(ran), pass('after')(ran)]);
      expect(outcome).toEqual({ error: failure, ran: ['a'] });
    }
  });

  it('goes on after an asynchronous stage calls next()', async () => {
    const outcome = await run((ran) => [
      async (_req, _res, next) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        ran.push('async');
        next();
      },
      pass('b')(ran),
    ]);
    expect(outcome).toEqual({ error: undefined, ran: ['async', 'b'] });
  });

  it('turns a promise rejected without a reason into an error (as Express 5 does)', async () => {
    // eslint-disable-next-line prefer-promise-reject-errors
    const outcome = await run(() => [() => Promise.reject(undefined)]);
    expect(outcome.error).toBeInstanceOf(Error);
  });
});

describe('isProxiedTarget', () => {
  const cases: Array<[target: string, lean: boolean]> = [
    ['/pacs', true],
    ['/pacs/', true],
    ['/pacs?x=1', true],
    ['/pacs/dicom-web/studies?PatientName=A*', true],
    ['/pacs-admin', true],
    ['/pacs-admin/app/explorer.html', true],
    ['/pacs-admin/../auth/me', true], // the lean pipeline's classify stage refuses it, like Express's
    ['/pacsx', false],
    ['/pacs-adminx/studies', false],
    ['/%70acs/dicom-web/studies', false],
    ['//pacs/dicom-web/studies', false],
    ['http://example.org/pacs/dicom-web/studies', false],
    ['/auth/login', false],
    ['/', false],
    ['/pacs/dicom-web/.well-known/smart-configuration', false],
    ['/pacs/dicom-web/.well-known/smart-configuration?x', false],
  ];
  it.each(cases)('%s → lean path: %s', (target, lean) => {
    const req = { url: target } as Request;
    expect(isProxiedTarget(req)).toBe(lean);
    expect(req.originalUrl).toBe(lean ? target : undefined);
  });
});

describe('adoptRequest', () => {
  it('links request and response, gives them the app’s prototypes and an empty res.locals', () => {
    const app = express();
    const req = {} as Request;
    const res = {} as Response;
    adoptRequest(app, req, res);
    expect(Object.getPrototypeOf(req)).toBe(app.request);
    expect(Object.getPrototypeOf(res)).toBe(app.response);
    expect(req.res).toBe(res);
    expect(res.req).toBe(req);
    expect({ ...res.locals }).toEqual({});
  });
});
