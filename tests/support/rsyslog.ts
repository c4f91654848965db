import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { spawnManaged, stopProcess, waitFor, type ManagedProcess } from './process.js';
import type { CertFiles, TestCa } from './tls.js';

export const RSYSLOGD = '/usr/sbin/rsyslogd';

/** What the receiver wrote for one message: its syslog header fields and MSG. */
export interface ReceivedSyslog {
  pri: number;
  appName: string;
  msgId: string;
  msg: string;
}

export interface TestRsyslog {
  port: number;
  /** The messages received so far, in order. */
  received(): ReceivedSyslog[];
  stop(): Promise<void>;
  /** Starts again on the same port (after stop()), keeping what was received. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

const SEPARATOR = '\u001f';

/** The XML of a received audit message (its MSG without the UTF-8 BOM). */
export const xmlOf = (msg: string) => msg.replace(/^\ufeff/, '');

/**
 * Debian's rsyslogd as an audit record repository on a free loopback port: TLS (RFC 5425, gtls
 * driver) requiring a client certificate signed by `ca` (x509/certvalid), plain TCP, or UDP; every
 * message written to a file (PRI, APP-NAME, MSGID, MSG per line). Runs in the foreground (-n) and
 * is stopped by PID.
 */
/** The input section of the configuration: TLS with a required client certificate, plain TCP, or UDP. */
function inputConfig(port: number, { ca, server, udp }: { ca?: TestCa | undefined; server?: CertFiles | undefined; udp?: boolean | undefined }): string {
  if (udp) return `module(load="imudp")\ninput(type="imudp" port="${port}" address="127.0.0.1")`;
  const driver = ca && server
    ? `global(DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="${ca.certFile}" DefaultNetstreamDriverCertFile="${server.certFile}" DefaultNetstreamDriverKeyFile="${server.keyFile}")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid")`
    : 'module(load="imtcp")';
  return `${driver}\ninput(type="imtcp" port="${port}" address="127.0.0.1")`;
}

export async function startRsyslog({ ca, server, udp }: { ca?: TestCa; server?: CertFiles; udp?: boolean } = {}): Promise<TestRsyslog> {
  const dir = await mkdtemp(join(tmpdir(), 'rsyslog-'));
  const port = await freePort();
  const out = join(dir, 'received.log');
  const config = join(dir, 'rsyslog.conf');
  writeFileSync(config, `global(workDirectory="${dir}" maxMessageSize="256k")
${inputConfig(port, { ca, server, udp })}
template(name="fields" type="string" string="%pri%${SEPARATOR}%app-name%${SEPARATOR}%msgid%${SEPARATOR}%msg%\\n")
action(type="omfile" file="${out}" template="fields")
`);
  let daemon: ManagedProcess | undefined;

  async function stop(): Promise<void> {
    if (daemon) await stopProcess(daemon, { timeoutMs: 5000 });
  }

  async function start(): Promise<void> {
    const proc = spawnManaged(RSYSLOGD, ['-n', '-f', config, '-i', join(dir, 'rsyslogd.pid')], { cwd: dir });
    daemon = proc;
    const pidFile = join(dir, 'rsyslogd.pid');
    // TCP: ready when it accepts; UDP cannot be probed: ready once rsyslogd wrote its pid file (after binding).
    const ready = udp
      ? () => existsSync(pidFile)
      : () => new Promise<boolean>((resolve) => {
          const socket = connect({ host: '127.0.0.1', port }, () => { socket.destroy(); resolve(true); });
          socket.once('error', () => resolve(false));
        });
    await waitFor(ready, { what: `rsyslogd on port ${port}`, timeoutMs: 15_000, abortIf: () => (proc.hasExited() ? `rsyslogd exited: ${proc.output()}` : undefined) });
  }

  await start();
  return {
    port,
    received: () =>
      (existsSync(out) ? readFileSync(out, 'utf8') : '')
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [pri, appName, msgId, ...msg] = line.split(SEPARATOR);
          return { pri: Number(pri), appName: appName!, msgId: msgId!, msg: msg.join(SEPARATOR) };
        }),
    stop,
    start,
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
