import http from 'node:http';
import type { AuditEvent as FhirAuditEvent } from '@medplum/fhirtypes';

/** The FHIR-shaped peer: stores what is POSTed to /fhir/AuditEvent; can go down, come back, be slow. */
export class FhirReceiver {
  readonly resources: FhirAuditEvent[] = [];
  readonly contentTypes: string[] = [];
  delayMs = 0;
  private server: http.Server | undefined;
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
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
