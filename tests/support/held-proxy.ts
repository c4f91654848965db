import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP reverse proxy in front of a real server (the dev IdP) that can hold one answer: the
 * request goes through and is answered, but the answer is kept back until the test releases it.
 * This makes a race deterministic, e.g. "the IdP has issued new tokens, and a back-channel logout
 * arrives before the gateway has them".
 */
export interface HeldProxy {
  /** `http://127.0.0.1:<port>`: the target's paths under another origin. */
  url: string;
  /** Holds the answer of the next request `matches` accepts; resolves once that answer is being held. */
  holdNext(matches: (req: http.IncomingMessage) => boolean): Promise<void>;
  /** Sends the held answer on. */
  release(): void;
  stop(): Promise<void>;
}

export async function startHeldProxy(target: string): Promise<HeldProxy> {
  let armed: { matches: (req: http.IncomingMessage) => boolean; held: () => void } | undefined;
  let releaseHeld: (() => void) | undefined;

  const server = http.createServer((req, res) => {
    const hold = armed?.matches(req) ? armed : undefined;
    if (hold) armed = undefined;
    const upstream = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const send = () => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(chunks));
        };
        if (!hold) return send();
        releaseHeld = send;
        hold.held();
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    holdNext: (matches) => new Promise<void>((held) => (armed = { matches, held })),
    release: () => {
      releaseHeld?.();
      releaseHeld = undefined;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        releaseHeld?.();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
