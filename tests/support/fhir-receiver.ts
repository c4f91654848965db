import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AuditEvent as FhirAuditEvent } from '@medplum/fhirtypes';
import { createRemoteJWKSet, jwtVerify } from 'jose';

/** Serve https and require a client certificate signed by `clientCaFile` (mutual TLS). */
export interface FhirReceiverTls {
  certFile: string;
  keyFile: string;
  clientCaFile: string;
}

/** Require an OAuth access token of the IdP: signed (its JWKS), for `audience`, issued to `clientId` (azp). */
export interface FhirReceiverBearer {
  issuer: string;
  jwksUri: string;
  audience: string;
  clientId: string;
}

/**
 * The FHIR-shaped peer: stores what is POSTed to /fhir/AuditEvent; can go down, come back, be slow.
 * With `tls`, only a client holding a certificate of the client CA gets through the handshake; the
 * subject CN of each sender is recorded. With `bearer`, only a request carrying a valid access token
 * of the right client is stored (401 otherwise); the token and its client of each are recorded.
 */
export class FhirReceiver {
  readonly resources: FhirAuditEvent[] = [];
  readonly contentTypes: string[] = [];
  readonly clientNames: string[] = [];
  /** With `bearer`: the token of each stored resource, and the client (azp) it was issued to. */
  readonly tokens: string[] = [];
  readonly tokenClients: string[] = [];
  /** With `bearer`: the `scope` claim of each stored resource's token ('' without one). */
  readonly tokenScopes: string[] = [];
  /** With `bearer`: why each refused request was refused. */
  readonly refusals: string[] = [];
  delayMs = 0;
  private server: http.Server | undefined;
  private refuseNext: 401 | 403 | undefined;
  private readonly revoked = new Set<string>();
  private readonly jwks;
  constructor(readonly port: number, private readonly tls?: FhirReceiverTls, private readonly bearer?: FhirReceiverBearer) {
    this.jwks = bearer && createRemoteJWKSet(new URL(bearer.jwksUri));
  }

  /**
   * The next valid token is refused: 401 and from then on, as a revoked token would be; or 403 once,
   * as for a client that lacked a permission (a scope) an admin then gave it.
   */
  refuseNextToken(status: 401 | 403 = 401): void {
    this.refuseNext = status;
  }

  /** Why a request is refused (its status and reason), or undefined when its token is good (always without `bearer`). */
  private async refusal(req: http.IncomingMessage): Promise<{ status: number; reason: string } | undefined> {
    const reason = await this.tokenProblem(req);
    if (reason) return { status: reason === 'forbidden' ? 403 : 401, reason };
    return undefined;
  }

  private async tokenProblem(req: http.IncomingMessage): Promise<string | undefined> {
    if (!this.bearer || !this.jwks) return undefined;
    const token = /^Bearer ([^\s]+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return 'no Bearer token';
    if (this.revoked.has(token)) return 'revoked token';
    let client: unknown;
    let scope: unknown;
    try {
      ({ payload: { azp: client, scope } } = await jwtVerify(token, this.jwks, { issuer: this.bearer.issuer, audience: this.bearer.audience }));
    } catch (error) {
      return `invalid token: ${(error as Error).message}`;
    }
    if (client !== this.bearer.clientId) return `token of client ${String(client)}`;
    const refuse = this.refuseNext;
    this.refuseNext = undefined;
    if (refuse === 401) this.revoked.add(token);
    if (refuse) return refuse === 401 ? 'revoked token' : 'forbidden';
    this.tokens.push(token);
    this.tokenClients.push(client);
    this.tokenScopes.push(typeof scope === 'string' ? scope : '');
    return undefined;
  }

  private create(handler: http.RequestListener): http.Server {
    if (!this.tls) return http.createServer(handler);
    const { certFile, keyFile, clientCaFile } = this.tls;
    return https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), ca: readFileSync(clientCaFile), requestCert: true, rejectUnauthorized: true }, handler);
  }

  async start(): Promise<void> {
    this.server = this.create((req, res) => {
      if (this.tls) this.clientNames.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? ''));
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        setTimeout(async () => {
          if (req.method !== 'POST' || req.url !== '/fhir/AuditEvent') {
            res.writeHead(404).end();
            return;
          }
          const refusal = await this.refusal(req);
          if (refusal) {
            this.refusals.push(refusal.reason);
            const error = refusal.status === 403 ? 'insufficient_scope' : 'invalid_token';
            res.writeHead(refusal.status, { 'www-authenticate': `Bearer error="${error}"`, 'content-type': 'application/fhir+json' }).end('{}');
            return;
          }
          this.contentTypes.push(req.headers['content-type'] ?? '');
          this.resources.push(JSON.parse(Buffer.concat(chunks).toString()) as FhirAuditEvent);
          res.writeHead(201, { 'content-type': 'application/fhir+json' }).end('{}');
        }, this.delayMs);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The study a received AuditEvent names (its urn:dicom:uid entity). */
export const studyOfFhir = (resource: FhirAuditEvent) =>
  resource.entity?.find((entity) => entity.what?.identifier?.system === 'urn:dicom:uid')?.what?.identifier?.value?.replace('urn:oid:', '');
/** The X-Request-Id a received AuditEvent names (BALP XrequestId entity). */
export const requestIdOfFhir = (resource: FhirAuditEvent) => resource.entity?.find((entity) => entity.type?.code === 'XrequestId')?.what?.identifier?.value;
