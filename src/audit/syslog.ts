import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import type { Transport } from './delivery.js';
import type { AuditRecord, AuditSource } from './record.js';
import { standardEvent } from './standard-event.js';

/** Facility 10 (security/authorization, as IHE ATNA uses it); severity notice, or warning for a failure. */
const AUTHPRIV = 10;
const NOTICE = 5;
const WARNING = 4;
const APP_NAME = 'orthanc-oidc-gateway';
/** IHE ITI-20: the MSGID of an audit message in the DICOM/RFC 3881 format. */
const MSG_ID = 'IHE+RFC-3881';
const BOM = '\ufeff';

/** RFC 5424 header fields are printable US-ASCII without spaces; anything else becomes '_'. */
const headerField = (value: string, max: number) => (value.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-');

/** One audit message as an RFC 5424 syslog message (IHE ITI-20): header, no structured data, the XML as UTF-8 MSG. */
export function syslogMessage(record: AuditRecord, source: AuditSource, xml: string): string {
  const severity = standardEvent(record.event).outcome === '0' ? NOTICE : WARNING;
  return `<${AUTHPRIV * 8 + severity}>1 ${record.time} ${headerField(source.hostname, 255)} ${APP_NAME} ${process.pid} ${MSG_ID} - ${BOM}${xml}`;
}

export interface SyslogTarget {
  /** `tls:`, `tcp:` or `udp:`. */
  protocol: 'tls' | 'tcp' | 'udp';
  host: string;
  port: number;
  /** TLS: the CA that signed the receiver's certificate, and the gateway's client certificate. */
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  timeoutMs: number;
}

/** RFC 5425 / RFC 6587 octet counting: the message's length in bytes, a space, the message. */
function octetCounted(message: string): Buffer {
  const bytes = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${bytes.length} `), bytes]);
}

/**
 * Syslog over a stream (TLS, RFC 5425, with a client certificate; or plain TCP): one connection,
 * opened on demand and again after any error or when the receiver closes it. A send resolves once
 * the bytes were handed to the connection.
 */
function streamTransport(target: SyslogTarget): Transport {
  let socket: net.Socket | undefined;
  let connecting: Promise<net.Socket> | undefined;

  function drop(which: net.Socket): void {
    which.destroy();
    if (socket === which) socket = undefined;
  }

  function connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const options = { host: target.host, port: target.port, timeout: target.timeoutMs };
      const opened = target.protocol === 'tls'
        ? tls.connect({ ...options, ca: target.ca, cert: target.cert, key: target.key, servername: net.isIP(target.host) ? undefined : target.host })
        : net.connect(options);
      const ready = target.protocol === 'tls' ? 'secureConnect' : 'connect';
      opened.once(ready, () => {
        opened.setTimeout(0);
        resolve(opened);
      });
      opened.once('timeout', () => opened.destroy(new Error(`syslog receiver ${target.host}:${target.port} did not answer within ${target.timeoutMs} ms`)));
      opened.once('error', reject);
      opened.on('error', () => drop(opened));
      // The receiver closing its side (it stopped): reconnect for the next message.
      opened.on('end', () => drop(opened));
      opened.on('close', () => drop(opened));
      // Receivers send nothing back; read and discard whatever comes so the socket keeps flowing.
      opened.resume();
    });
  }

  async function connected(): Promise<net.Socket> {
    if (socket && !socket.destroyed) return socket;
    connecting ??= connect().finally(() => (connecting = undefined));
    socket = await connecting;
    return socket;
  }

  return {
    name: 'syslog',
    async send(message) {
      const current = await connected();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          drop(current);
          reject(new Error(`syslog receiver did not take a message within ${target.timeoutMs} ms`));
        }, target.timeoutMs);
        current.write(octetCounted(message), (error) => {
          clearTimeout(timer);
          if (error) {
            drop(current);
            reject(error);
          } else {
            resolve();
          }
        });
      });
    },
    close() {
      if (socket) socket.end();
      socket = undefined;
    },
  };
}

/** Syslog over UDP (RFC 5426): one datagram per message, no framing, no delivery receipt. */
function datagramTransport(target: SyslogTarget): Transport {
  const socket = dgram.createSocket(net.isIPv6(target.host) ? 'udp6' : 'udp4');
  socket.unref();
  return {
    name: 'syslog',
    send: (message) =>
      new Promise((resolve, reject) => {
        socket.send(Buffer.from(message, 'utf8'), target.port, target.host, (error) => (error ? reject(error) : resolve()));
      }),
    close: () => socket.close(),
  };
}

export function createSyslogTransport(target: SyslogTarget): Transport {
  return target.protocol === 'udp' ? datagramTransport(target) : streamTransport(target);
}
