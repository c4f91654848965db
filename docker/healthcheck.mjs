// Liveness probe of the gateway image (Dockerfile HEALTHCHECK): GET /healthz on the local port.
// Plain node because slim images have no curl or wget. Exit 0 when the answer is 200, else 1.
//
// When the gateway serves HTTPS itself (TLS_CERT_FILE), the probe talks HTTPS to 127.0.0.1 and does
// not verify the certificate: it checks that this very process answers, it authenticates nobody,
// and the certificate is issued for the public name, not for 127.0.0.1.
import http from 'node:http';
import https from 'node:https';

const port = Number(process.env.PORT || 8080);
const tls = Boolean(process.env.TLS_CERT_FILE);
const client = tls ? https : http;

const request = client.get(
  { host: '127.0.0.1', port, path: '/healthz', timeout: 4000, ...(tls ? { rejectUnauthorized: false } : {}) },
  (response) => {
    response.resume();
    process.exit(response.statusCode === 200 ? 0 : 1);
  },
);
request.on('timeout', () => request.destroy(new Error('timeout')));
request.on('error', () => process.exit(1));
