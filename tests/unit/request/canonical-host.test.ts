import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { canonicalHostRedirect, redirectToPublicHost, type PageLoad } from '../../../src/request/canonical-host.js';
import { rawRequest } from '../../support/raw-http.js';

const PUBLIC_URL = 'http://localhost:8080';
const page = (host: string | undefined, target: string, isPage = true): PageLoad => ({ host, target, isPage });

describe('canonicalHostRedirect', () => {
  it.each([
    ['the viewer', page('127.0.0.1:8080', '/'), 'http://localhost:8080/'],
    ['the sign-in start, query kept', page('127.0.0.1:8080', '/auth/login?returnTo=%2Fviewer'), 'http://localhost:8080/auth/login?returnTo=%2Fviewer'],
    ['a viewer route', page('127.0.0.1:8080', '/viewer?StudyInstanceUIDs=1.2.3'), 'http://localhost:8080/viewer?StudyInstanceUIDs=1.2.3'],
    ['Orthanc Explorer', page('127.0.0.1:8080', '/pacs-admin/app/explorer.html'), 'http://localhost:8080/pacs-admin/app/explorer.html'],
    ['/pacs-admin itself', page('127.0.0.1:8080', '/pacs-admin'), 'http://localhost:8080/pacs-admin'],
    ['a share link', page('127.0.0.1:8080', '/share/abc'), 'http://localhost:8080/share/abc'],
    ['another port of the same name', page('localhost:8081', '/'), 'http://localhost:8080/'],
    ['a Host carrying a path-like suffix never reaches the target', page('evil.example/x', '/a'), 'http://localhost:8080/a'],
  ])('redirects %s', (_name, load, expected) => {
    expect(canonicalHostRedirect(load, PUBLIC_URL)).toBe(expected);
  });

  it.each([
    ['the right host', page('localhost:8080', '/')],
    ['the right host in capitals', page('LOCALHOST:8080', '/viewer')],
    ['an API call (not a page load)', page('127.0.0.1:8080', '/', false)],
    ['DICOMweb, even as a page load', page('127.0.0.1:8080', '/pacs/dicom-web/studies')],
    ['/pacs itself', page('127.0.0.1:8080', '/pacs')],
    ['the callback (its state belongs to the host that started it)', page('127.0.0.1:8080', '/auth/callback?code=x&state=y')],
    ['who-am-I', page('127.0.0.1:8080', '/auth/me')],
    ['the share API', page('127.0.0.1:8080', '/auth/share')],
    ['health checks', page('127.0.0.1:8080', '/healthz')],
    ['metrics', page('127.0.0.1:8080', '/metrics')],
    ['no Host header (HTTP/1.0)', page(undefined, '/')],
    ['a protocol-relative target', page('127.0.0.1:8080', '//evil.example/')],
    ['a backslash target', page('127.0.0.1:8080', '/\\evil.example/')],
    ['an absolute-form target', page('127.0.0.1:8080', 'http://evil.example/')],
    ['a target with a tab', page('127.0.0.1:8080', '/\t/evil.example')],
    ['an empty target', page('127.0.0.1:8080', '')],
  ])('leaves %s alone', (_name, load) => {
    expect(canonicalHostRedirect(load, PUBLIC_URL)).toBeUndefined();
  });

  it.each([
    ['https default port written out', 'https://pacs.example.org', 'pacs.example.org:443', undefined],
    ['http default port written out', 'http://pacs.example.org', 'pacs.example.org:80', undefined],
    ['https, port 80 is another host', 'https://pacs.example.org', 'pacs.example.org:80', 'https://pacs.example.org/'],
    ['a short name of the site', 'https://pacs.example.org', 'pacs', 'https://pacs.example.org/'],
    ['an IPv6 literal', 'http://[::1]:8080', '[::1]:8080', undefined],
    ['PUBLIC_URL with a path prefix', 'https://example.org/gateway', 'gw.internal', 'https://example.org/gateway/'],
  ])('compares hosts as origins: %s', (_name, publicUrl, host, expected) => {
    expect(canonicalHostRedirect(page(host, '/'), publicUrl)).toBe(expected);
  });

  it('never sends a browser anywhere but PUBLIC_URL, whatever the Host and path say', () => {
    const hosts = ['evil.example', 'evil.example:80', 'localhost:8080@evil.example', '', '127.0.0.1'];
    const targets = ['/', '/%2F%2Fevil.example', '/.//evil.example', '/auth/login?returnTo=//evil.example', '/?next=http://evil.example'];
    for (const host of hosts) {
      for (const target of targets) {
        const location = canonicalHostRedirect(page(host, target), PUBLIC_URL);
        if (location === undefined) continue;
        expect(new URL(location).origin).toBe('http://localhost:8080');
        expect(location).toBe(`${PUBLIC_URL}${target}`);
      }
    }
  });
});

describe('redirectToPublicHost: which Host it reads, which requests it leaves alone', () => {
  const servers: Server[] = [];
  const start = async (trustProxy: boolean) => {
    const app = express();
    app.use(redirectToPublicHost(PUBLIC_URL, trustProxy));
    app.use((_req, res) => {
      res.status(200).send('served');
    });
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise((resolve) => server.once('listening', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  afterAll(() => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))));

  const navigation = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };

  it.each<[string, boolean, string, Record<string, string>, string | undefined]>([
    ['a page load on another host', false, 'GET', { ...navigation, host: '127.0.0.1:8080' }, 'http://localhost:8080/viewer?x=1'],
    ['the HEAD of a page load', false, 'HEAD', { ...navigation, host: '127.0.0.1:8080' }, 'http://localhost:8080/viewer?x=1'],
    ['a page load with a Bearer token', false, 'GET', { ...navigation, host: '127.0.0.1:8080', authorization: 'Bearer x' }, undefined],
    ['a fetch()', false, 'GET', { accept: 'text/html', 'sec-fetch-mode': 'cors', host: '127.0.0.1:8080' }, undefined],
    ['a POST', false, 'POST', { ...navigation, host: '127.0.0.1:8080' }, undefined],
    ['X-Forwarded-Host without TRUST_PROXY (ignored)', false, 'GET', { ...navigation, host: 'localhost:8080', 'x-forwarded-host': 'evil.example' }, undefined],
    ['X-Forwarded-Host naming PUBLIC_URL behind a trusted proxy', true, 'GET', { ...navigation, host: 'gateway:8080', 'x-forwarded-host': 'localhost:8080' }, undefined],
    ['X-Forwarded-Host naming another host behind a trusted proxy', true, 'GET', { ...navigation, host: 'localhost:8080', 'x-forwarded-host': 'pacs-old.example' }, 'http://localhost:8080/viewer?x=1'],
    ['the last X-Forwarded-Host entry (the trusted proxy’s) decides', true, 'GET', { ...navigation, host: 'gateway:8080', 'x-forwarded-host': 'evil.example, localhost:8080' }, undefined],
    ['a trusted proxy that sends no X-Forwarded-Host: the Host header', true, 'GET', { ...navigation, host: '127.0.0.1:8080' }, 'http://localhost:8080/viewer?x=1'],
  ])('%s', async (_name, trustProxy, method, headers, location) => {
    const response = await rawRequest(await start(trustProxy), '/viewer?x=1', { method, headers });
    expect([response.status, response.headers['location']]).toEqual(location ? [302, location] : [200, undefined]);
  });
});
