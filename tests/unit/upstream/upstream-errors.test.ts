/** Upstream failures put into words (src/upstream/upstream-errors.ts): table-driven, no I/O. */
import { describe, expect, it } from '@jest/globals';
import {
  describeOrthancAnswer,
  describeProxyErrorPage,
  describeUpstreamError,
  isProxyErrorPage,
} from '../../../src/upstream/upstream-errors.js';

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });
const nginxPage = (title: string) => `<html>\r\n<head><title>${title}</title></head>\r\n<body></body>\r\n</html>\r\n`;

describe('describeUpstreamError', () => {
  it.each([
    { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', message: /not trusted/, hint: /ORTHANC_CA_FILE/, tls: true },
    { code: 'SELF_SIGNED_CERT_IN_CHAIN', message: /not trusted/, hint: /ORTHANC_CA_FILE/, tls: true },
    { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: /not trusted/, hint: /ORTHANC_CA_FILE/, tls: true },
    { code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: /not issued for the host/, hint: /host of ORTHANC_URL/, tls: true },
    { code: 'CERT_HAS_EXPIRED', message: /not valid now/, hint: /renew/, tls: true },
    { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', message: /refused the gateway's TLS connection/, hint: /ORTHANC_CLIENT_CERT_FILE/, tls: true },
    { code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', message: /refused/, hint: /ORTHANC_CLIENT_KEY_FILE/, tls: true },
    { code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: /handshake/, hint: /does not speak TLS/, tls: true },
    {
      code: 'EPROTO',
      text: 'write EPROTO 80:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../rec_layer_s3.c:1601:SSL alert number 40',
      message: /refused the gateway's TLS connection \(EPROTO alert handshake failure\)/,
      hint: /ORTHANC_CLIENT_CERT_FILE/,
      tls: true,
    },
    { code: 'EPROTO', text: 'write EPROTO …:ssl3_get_record:wrong version number:…', message: /handshake/, hint: /does not speak TLS/, tls: true },
    { code: 'ECONNREFUSED', message: /^Orthanc is unreachable \(ECONNREFUSED\)$/, hint: undefined, tls: false },
  ])('$code $text', ({ code, text, message, hint, tls }: { code: string; text?: string; message: RegExp; hint: RegExp | undefined; tls: boolean }) => {
    const problem = describeUpstreamError(withCode(code, text));
    expect(problem.message).toMatch(message);
    expect(problem.tls).toBe(tls);
    if (hint) expect(problem.hint).toMatch(hint);
    else expect(problem.hint).toBeUndefined();
    // What API clients see names no configuration variable.
    expect(problem.message).not.toMatch(/ORTHANC_/);
  });
});

describe('proxy error pages', () => {
  it.each([
    { status: 400, type: 'text/html', expected: true },
    { status: 400, type: 'text/html; charset=utf-8', expected: true },
    { status: 400, type: 'application/json', expected: false },
    { status: 404, type: 'text/html', expected: false },
    { status: 400, type: undefined, expected: false },
  ])('status $status $type → $expected', ({ status, type, expected }) => {
    expect(isProxyErrorPage(status, type)).toBe(expected);
  });

  it('recognises an HTML body when no content type is known', () => {
    expect(isProxyErrorPage(400, undefined, nginxPage('400 Bad Request'))).toBe(true);
    expect(isProxyErrorPage(400, undefined, '{"HttpError":"Bad Request"}')).toBe(false);
  });

  it.each([
    { title: '400 No required SSL certificate was sent', hint: /ORTHANC_CLIENT_CERT_FILE/ },
    { title: '400 The SSL certificate error', hint: /ORTHANC_CLIENT_CERT_FILE/ },
    { title: '400 The plain HTTP request was sent to HTTPS port', hint: /https:\/\// },
  ])('$title', ({ title, hint }) => {
    const problem = describeProxyErrorPage(nginxPage(title));
    expect(problem.message).toContain(title);
    expect(problem.hint).toMatch(hint);
  });

  it('any other proxy 400 page is still a gateway-side problem, without a TLS hint', () => {
    const problem = describeProxyErrorPage(nginxPage('400 Request Header Or Cookie Too Large'));
    expect(problem).toMatchObject({ message: expect.stringContaining('Request Header Or Cookie Too Large'), tls: false });
    expect(problem.hint).toBeUndefined();
  });
});

describe('describeOrthancAnswer (readiness and start-up messages)', () => {
  it.each([
    { status: 400, body: nginxPage('400 No required SSL certificate was sent'), expected: /No required SSL certificate was sent.*ORTHANC_CLIENT_CERT_FILE/ },
    { status: 401, body: '', expected: /ORTHANC_USERNAME \/ ORTHANC_PASSWORD/ },
    { status: 503, body: '', expected: /^Orthanc GET \/system answered HTTP 503$/ },
  ])('HTTP $status', ({ status, body, expected }) => {
    expect(describeOrthancAnswer('/system', status, body)).toMatch(expected);
  });
});
