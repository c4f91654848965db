import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AuditEvent as FhirAuditEvent } from '@medplum/fhirtypes';

/** Serve https and require a client certificate signed by `clientCaFile` (mutual TLS). */
export interface FhirReceiverTls {
  certFile: string;
  keyFile: string;
  clientCaFile: string;
}

/**
 * The FHIR-shaped peer: stores what is POSTed to /fhir/AuditEvent; can go down, come back, be slow.
 * With `tls`, only a client holding a certificate of the client CA gets through the handshake; the
 * subject CN of each sender is recorded.
 */
export class FhirReceiver {
  readonly resources: FhirAuditEvent[] = [];
  readonly contentTypes: string[] = [];
  readonly clientNames: string[] = [];
  delayMs = 0;
  private server: http.Server | undefined;
  constructor(readonly port: number, private readonly tls?: FhirReceiverTls) {}

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
        setTimeout(() => {
          if (req.method !== 'POST' || req.url !== '/fhir/AuditEvent') {
            res.writeHead(404).end();
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
