import type { Readable, Transform, Writable } from 'node:stream';
import type { BodyEndCheck } from './multipart-guard.js';
import type { UrlRewriter } from './url-rewrite.js';

/**
 * source → transforms… → destination, ending both sides when either fails or closes early, like
 * `stream.pipeline` but without its per-call machinery (an AbortController, whose abort builds a
 * DOMException, and end-of-stream watchers on every stream): that cost ~20–40 µs of CPU per proxied
 * request (bench/README.md). `onError` hears about stream errors, not about a client going away.
 * With `endCheck`, the destination is ended only when the check finds the body complete; otherwise
 * it is destroyed (the client sees an aborted download) and `onError` hears why.
 */
export function relayStream(source: Readable, destination: Writable, transforms: readonly Transform[], onError: (error: Error) => void, endCheck?: BodyEndCheck): void {
  const stop = tieEnds(source, destination, transforms, onError);
  if (!stop) return;
  const body = transforms.reduce<Readable>((upstream, transform) => upstream.pipe(transform), source);
  if (!endCheck) return void body.pipe(destination);
  body.pipe(destination, { end: false });
  body.on('data', (chunk: Buffer) => endCheck.see(chunk));
  body.once('end', () => {
    const incomplete = endCheck.atEnd();
    if (incomplete) stop(incomplete);
    else destination.end();
  });
}

/**
 * source → rewriter → destination with relayStream's semantics but no Transform stage: each chunk
 * is rewritten and written in the tick it arrives. When the source declared its length, the chunk
 * that completes it also ends the destination: a node:http response then sends its last bytes, and
 * the end of a chunked body, in one system call instead of two (bench/README.md, Issue 16, "qido").
 */
export function relayRewritten(source: Readable, destination: Writable, rewriter: UrlRewriter, onError: (error: Error) => void, declaredLength?: number): void {
  if (!tieEnds(source, destination, [], onError)) return;
  let received = 0;
  let ended = false;
  const finish = (last: Buffer) => {
    ended = true;
    if (last.length) destination.end(last);
    else destination.end();
  };
  source.on('data', (chunk: Buffer) => {
    if (destination.destroyed) return; // tieEnds is stopping both
    received += chunk.length;
    const out = rewriter.write(chunk);
    if (received === declaredLength) {
      const rest = rewriter.end();
      return finish(rest.length === 0 ? out : out.length === 0 ? rest : Buffer.concat([out, rest]));
    }
    if (out.length && !destination.write(out)) source.pause();
  });
  destination.on('drain', () => source.resume());
  source.once('end', () => {
    if (!ended) finish(rewriter.end());
  });
}

/** Both ends stop when either fails or closes early; undefined when the destination is already gone (both stopped). */
function tieEnds(source: Readable, destination: Writable, transforms: readonly Transform[], onError: (error: Error) => void): ((error?: Error) => void) | undefined {
  let finished = false;
  const stop = (error?: Error) => {
    if (finished) return;
    finished = true;
    if (error) onError(error);
    source.destroy();
    for (const transform of transforms) transform.destroy();
    destination.destroy();
  };
  // An error after the client left is the consequence, not news: only report it while the client listens.
  source.once('error', (error) => stop(destination.destroyed ? undefined : error));
  for (const transform of transforms) transform.once('error', stop);
  destination.once('error', () => stop());
  // The upstream connection cut mid-body, or the client gone before the end.
  source.once('close', () => {
    if (!source.readableEnded) stop();
  });
  destination.once('close', () => {
    if (!destination.writableFinished) stop();
  });
  if (destination.destroyed) return void stop(); // the client left before the answer came: its 'close' is past
  return stop;
}
