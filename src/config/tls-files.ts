import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Config } from './config.js';
import { ConfigError } from './load.js';

/**
 * The PEM files named by TLS_*, ORTHANC_*_FILE and AUDIT_SYSLOG_*_FILE, read and checked once at start: readable, really
 * certificates / private keys, and each key matching its certificate. Every problem is reported at
 * once, naming the variable (and the path, never the content). Things that still work but are
 * probably a mistake (an expired certificate, one not issued for PUBLIC_URL's host, CA files set for
 * an http:// Orthanc) come back as warnings for the log.
 */
export interface TlsMaterial {
  /** The gateway's own HTTPS certificate chain and key (TLS_CERT_FILE / TLS_KEY_FILE). */
  server: { cert: Buffer; key: Buffer } | undefined;
  warnings: string[];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

class Checker {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];

  read(variable: string, path: string): Buffer | undefined {
    try {
      return readFileSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : code ?? 'unreadable';
      this.problems.push(`${variable}: cannot read ${path} (${why})`);
      return undefined;
    }
  }

  certificates(variable: string, path: string): X509Certificate[] | undefined {
    const pem = this.read(variable, path);
    if (!pem) return undefined;
    const blocks = pem.toString('utf8').match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) {
      this.problems.push(`${variable}: ${path} holds no PEM certificate`);
      return undefined;
    }
    try {
      return blocks.map((block) => new X509Certificate(block));
    } catch (error) {
      this.problems.push(`${variable}: ${path} holds a certificate that cannot be parsed (${(error as Error).message})`);
      return undefined;
    }
  }

  privateKey(variable: string, path: string): KeyObject | undefined {
    const pem = this.read(variable, path);
    if (!pem) return undefined;
    try {
      return createPrivateKey(pem);
    } catch {
      // The parser's message may quote key material; keep only what helps.
      this.problems.push(`${variable}: ${path} is not an unencrypted PEM private key (passphrase-protected keys are not supported)`);
      return undefined;
    }
  }

  /** Certificate + key pair: both readable and the key belongs to the first (leaf) certificate. */
  pair(certVariable: string, certPath: string, keyVariable: string, keyPath: string): X509Certificate | undefined {
    const leaf = this.certificates(certVariable, certPath)?.[0];
    const key = this.privateKey(keyVariable, keyPath);
    if (!leaf || !key) return undefined;
    if (!leaf.checkPrivateKey(key)) {
      this.problems.push(`${keyVariable}: the key in ${keyPath} does not match the certificate in ${certVariable} (${certPath})`);
      return undefined;
    }
    this.validity(certVariable, leaf);
    return leaf;
  }

  validity(variable: string, certificate: X509Certificate): void {
    const now = Date.now();
    if (Date.parse(certificate.validTo) < now) this.warnings.push(`${variable}: the certificate expired on ${certificate.validTo}`);
    if (Date.parse(certificate.validFrom) > now) this.warnings.push(`${variable}: the certificate is not valid before ${certificate.validFrom}`);
  }
}

function issuedFor(certificate: X509Certificate, host: string): boolean {
  const name = host.replace(/^\[|\]$/g, '');
  return isIP(name) ? certificate.checkIP(name) !== undefined : certificate.checkHost(name) !== undefined;
}

/**
 * An audit receiver's CA and the gateway's client certificate for it: AUDIT_SYSLOG_*_FILE
 * (tls:// only) or AUDIT_FHIR_*_FILE (https:// only).
 */
function checkAuditPeerFiles(check: Checker, prefix: 'AUDIT_SYSLOG' | 'AUDIT_FHIR', files: { caFile: string | undefined; certFile: string | undefined; keyFile: string | undefined } | undefined): void {
  if (!files) return;
  if (files.caFile) {
    const certificates = check.certificates(`${prefix}_CA_FILE`, files.caFile);
    if (certificates) for (const certificate of certificates) check.validity(`${prefix}_CA_FILE`, certificate);
  }
  if (files.certFile && files.keyFile) check.pair(`${prefix}_CERT_FILE`, files.certFile, `${prefix}_KEY_FILE`, files.keyFile);
}

/** Reads and checks every TLS file of `config`; throws a ConfigError listing all problems. */
export function loadTlsMaterial(config: Config): TlsMaterial {
  const check = new Checker();
  let server: TlsMaterial['server'];

  if (config.tls) {
    const leaf = check.pair('TLS_CERT_FILE', config.tls.certFile, 'TLS_KEY_FILE', config.tls.keyFile);
    if (leaf) {
      server = { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) };
      const publicUrl = new URL(config.publicUrl);
      if (publicUrl.protocol !== 'https:') {
        check.warnings.push('TLS_CERT_FILE is set but PUBLIC_URL is not https://: HSTS and Secure cookies follow PUBLIC_URL');
      } else if (!issuedFor(leaf, publicUrl.hostname)) {
        check.warnings.push(`TLS_CERT_FILE: the certificate is not issued for ${publicUrl.hostname} (the host of PUBLIC_URL)`);
      }
    }
  }

  const { orthanc } = config;
  const upstreamHttps = orthanc.url.startsWith('https:');
  if (orthanc.caFile) {
    const certificates = check.certificates('ORTHANC_CA_FILE', orthanc.caFile);
    if (certificates) for (const certificate of certificates) check.validity('ORTHANC_CA_FILE', certificate);
  }
  if (orthanc.clientCertFile && orthanc.clientKeyFile) {
    check.pair('ORTHANC_CLIENT_CERT_FILE', orthanc.clientCertFile, 'ORTHANC_CLIENT_KEY_FILE', orthanc.clientKeyFile);
  }
  if (!upstreamHttps && (orthanc.caFile || orthanc.clientCertFile)) {
    check.warnings.push('ORTHANC_CA_FILE / ORTHANC_CLIENT_CERT_FILE are set but ORTHANC_URL is http://: they are not used');
  }

  checkAuditPeerFiles(check, 'AUDIT_SYSLOG', config.audit.syslog);
  checkAuditPeerFiles(check, 'AUDIT_FHIR', config.audit.fhirTls);

  if (check.problems.length > 0) throw new ConfigError(check.problems);
  return { server, warnings: check.warnings };
}
