import type { Readable } from 'node:stream';

/**
 * What went wrong between the gateway and Orthanc, in words an operator can act on. `message` is
 * safe for API clients (it names no configuration); `hint` names the variables to check and goes to
 * the log, /readyz and the start-up checks.
 */
export interface UpstreamProblem {
  message: string;
  hint?: string;
  /** The failure happened in TLS (certificate trust, handshake, client certificate). */
  tls: boolean;
}

/** OpenSSL verification codes meaning "signed by nobody the gateway trusts". */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
]);

const CLIENT_CERT_HINT =
  'Orthanc (or the TLS proxy in front of it) requires a client certificate: set ORTHANC_CLIENT_CERT_FILE and ORTHANC_CLIENT_KEY_FILE to a certificate signed by a CA it trusts';

/** Describes an error of a request to Orthanc (connection, TLS). Unknown errors stay "unreachable". */
export function describeUpstreamError(error: Error): UpstreamProblem {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (UNTRUSTED.has(code)) {
    return {
      message: `Orthanc's TLS certificate is not trusted by the gateway (${code})`,
      hint: 'set ORTHANC_CA_FILE to the CA certificate (PEM) that signed the certificate served at ORTHANC_URL',
      tls: true,
    };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return {
      message: "Orthanc's TLS certificate is not issued for the host name in the gateway's Orthanc URL",
      hint: `the host of ORTHANC_URL must be one of the certificate's names (${error.message})`,
      tls: true,
    };
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return { message: `Orthanc's TLS certificate is not valid now (${code})`, hint: 'renew the certificate served at ORTHANC_URL', tls: true };
  }
  // OpenSSL errors: ERR_SSL_* codes, or EPROTO with the alert in the message (TLS 1.2).
  const ssl = code.startsWith('ERR_SSL_') ? code : code === 'EPROTO' ? `EPROTO ${/alert [\w ]+|wrong version number/i.exec(error.message)?.[0] ?? ''}`.trim() : undefined;
  if (ssl) {
    const what = ssl.toUpperCase().replace(/ /g, '_');
    if (/CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|HANDSHAKE_FAILURE|CERTIFICATE_UNKNOWN|ACCESS_DENIED/.test(what)) {
      return { message: `Orthanc refused the gateway's TLS connection (${ssl})`, hint: CLIENT_CERT_HINT, tls: true };
    }
    if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST/.test(what)) {
      return {
        message: `TLS handshake with Orthanc failed (${ssl})`,
        hint: 'ORTHANC_URL is https:// but the server there does not speak TLS (use http://, or turn on HTTPS there)',
        tls: true,
      };
    }
    return { message: `TLS handshake with Orthanc failed (${ssl})`, tls: true };
  }
  return { message: `Orthanc is unreachable (${code || 'connection error'})`, tls: false };
}

/** `<title>400 No required SSL certificate was sent</title>` → "400 No required SSL certificate was sent". */
function pageTitle(html: string): string | undefined {
  return /<title>\s*([^<]{1,200}?)\s*<\/title>/i.exec(html)?.[1];
}

/**
 * Orthanc answers errors in JSON or plain text, never with an HTML page: a 400 HTML page comes from
 * a proxy between the gateway and Orthanc — typically nginx refusing a request without a (valid)
 * client certificate ("400 No required SSL certificate was sent"), or a plain-HTTP request on its
 * TLS port. That is the gateway's configuration problem, not the API client's.
 */
export function isProxyErrorPage(status: number | undefined, contentType: string | undefined, body?: string): boolean {
  if (status !== 400) return false;
  if (contentType !== undefined) return /^text\/html/i.test(contentType);
  return body !== undefined && /^\s*<(!doctype\s+)?html/i.test(body);
}

export function describeProxyErrorPage(html: string): UpstreamProblem {
  const title = pageTitle(html) ?? '400 Bad Request';
  const message = `The TLS proxy in front of Orthanc refused the gateway's request (${title})`;
  if (/SSL certificate/i.test(title)) return { message, hint: CLIENT_CERT_HINT, tls: true };
  if (/plain HTTP request was sent to HTTPS port/i.test(title)) {
    return { message, hint: 'the server at ORTHANC_URL expects HTTPS: ORTHANC_URL must start with https://', tls: true };
  }
  return { message: `A proxy in front of Orthanc refused the gateway's request (${title})`, tls: false };
}

/** Reads a small error page (at most `limit` bytes; the rest is discarded) from an upstream response. */
export function readErrorPage(res: Readable, limit = 8192): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = () => resolve(Buffer.concat(chunks).toString('utf8'));
    res.on('data', (chunk: Buffer) => {
      if (size < limit) chunks.push(chunk.subarray(0, limit - size));
      size += chunk.length;
    });
    res.once('end', finish);
    res.once('error', finish);
    res.once('close', finish);
  });
}

/** One line for /readyz and the start-up checks: what Orthanc (or a proxy before it) answered. */
export function describeOrthancAnswer(path: string, status: number, body: string): string {
  if (isProxyErrorPage(status, undefined, body)) {
    const problem = describeProxyErrorPage(body);
    return problem.hint ? `${problem.message}: ${problem.hint}` : problem.message;
  }
  if (status === 401) return `Orthanc rejected the service credential on GET ${path} (HTTP 401): check ORTHANC_USERNAME / ORTHANC_PASSWORD`;
  return `Orthanc GET ${path} answered HTTP ${status}`;
}

/** The same for a failed request (connection or TLS error). */
export function describeOrthancFailure(error: Error): string {
  if (!(error as NodeJS.ErrnoException).code) return error.message;
  const problem = describeUpstreamError(error);
  return problem.hint ? `${problem.message}: ${problem.hint}` : problem.message;
}
