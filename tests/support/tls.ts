import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Throw-away certificates for TLS tests, made with the openssl CLI (Node can read certificates but
 * not create them) in a temp dir: a test CA, server certificates for localhost / 127.0.0.1 and
 * client certificates it signs. EC P-256 keys: generated in milliseconds.
 */
const OPENSSL = 'openssl';
const run = promisify(execFile);

export interface CertFiles {
  certFile: string;
  keyFile: string;
}

export interface TestCa extends CertFiles {
  name: string;
  /** PEM of the CA certificate (what a client trusts). */
  pem: string;
  /** A certificate for `localhost` (SAN DNS:localhost, IP:127.0.0.1) with extendedKeyUsage serverAuth. */
  issueServer(name: string, hosts?: string[]): Promise<CertFiles>;
  /** A client certificate (extendedKeyUsage clientAuth) with the given common name. */
  issueClient(name: string, commonName?: string): Promise<CertFiles>;
}

export interface TestPki {
  dir: string;
  newCa(name: string): Promise<TestCa>;
  /** A lone private key matching no certificate (for "key does not match" tests). */
  strayKey(name: string): Promise<string>;
  remove(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run(OPENSSL, args, { cwd });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${stderr ?? (error as Error).message}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-pki-'));
  const path = (file: string) => join(dir, file);

  const issue = async (ca: CertFiles, name: string, commonName: string, extensions: string): Promise<CertFiles> => {
    const files = { certFile: path(`${name}.crt`), keyFile: path(`${name}.key`) };
    await openssl(['req', '-new', ...EC_KEY, '-keyout', files.keyFile, '-out', path(`${name}.csr`), '-subj', `/CN=${commonName}`], dir);
    await writeFile(path(`${name}.ext`), extensions);
    // A random serial per certificate: `-CAcreateserial` shares one .srl file, which two issues in parallel (Promise.all) raced on.
    await openssl(
      ['x509', '-req', '-in', path(`${name}.csr`), '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', `0x${randomBytes(16).toString('hex')}`,
        '-days', '2', '-sha256', '-extfile', path(`${name}.ext`), '-out', files.certFile],
      dir,
    );
    return files;
  };

  return {
    dir,
    async newCa(name) {
      const ca = { certFile: path(`${name}.crt`), keyFile: path(`${name}.key`) };
      await openssl(
        ['req', '-x509', ...EC_KEY, '-days', '2', '-sha256', '-subj', `/CN=${name} test CA`, '-keyout', ca.keyFile, '-out', ca.certFile,
          '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
        dir,
      );
      return {
        ...ca,
        name,
        pem: await readFile(ca.certFile, 'utf8'),
        issueServer: (serverName, hosts = ['DNS:localhost', 'IP:127.0.0.1']) =>
          issue(ca, serverName, 'localhost', `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${hosts.join(',')}\n`),
        issueClient: (clientName, commonName = clientName) =>
          issue(ca, clientName, commonName, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n'),
      };
    },
    async strayKey(name) {
      const keyFile = path(`${name}.key`);
      await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', keyFile], dir);
      return keyFile;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET over HTTPS trusting only `ca` (fetch cannot take a custom CA without undici's Agent). */
export function httpsGet(url: string, { ca, headers = {} }: { ca: string | Buffer; headers?: Record<string, string> }): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, headers, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
  });
}
