/**
 * Orthanc writes absolute URLs (RetrieveURL, BulkDataURI, Location) from the `Forwarded` host the
 * gateway sends it, always with the path /dicom-web/. These helpers move them under the gateway's
 * public DICOMweb root, PUBLIC_URL + /pacs/dicom-web/, without buffering whole bodies.
 */
export interface UrlRewrite {
  /** e.g. `https://pacs.example.org/dicom-web/` as Orthanc writes it. */
  from: string;
  /** e.g. `https://pacs.example.org/pacs/dicom-web/`. */
  to: string;
}

export function isRewritableContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && /json|xml/i.test(contentType);
}

/** Rewrites a body chunk by chunk: what may be sent now, and at the end what was held back. */
export interface UrlRewriter {
  /** The rewritten bytes ready to send (the chunk itself when it holds no occurrence). */
  write(chunk: Buffer): Buffer;
  /** The held-back tail: a beginning of `from` that the body's end left incomplete. */
  end(): Buffer;
}

const NOTHING = Buffer.alloc(0);

/** Where the longest suffix of `data[from..]` that is a proper prefix of `search` begins (`data.length`: none). */
function heldBackStart(data: Buffer, from: number, search: Buffer): number {
  for (let start = Math.max(from, data.length - search.length + 1); start < data.length; start++) {
    if (data[start] === search[0] && search.compare(data, start, data.length, 0, data.length - start) === 0) return start;
  }
  return data.length;
}

/**
 * Streaming replace-all of `rewrite.from` by `rewrite.to` on the bytes, never decoded: UTF-8 is
 * self-synchronizing, so a byte match is a character match and a multi-byte character split across
 * chunks passes through untouched. Correct across chunk boundaries: a tail that may begin an
 * occurrence is held back until the next chunk. The search bytes are made once; each call of the
 * returned function starts one body.
 */
export function urlRewriterFor(rewrite: UrlRewrite): () => UrlRewriter {
  const search = Buffer.from(rewrite.from);
  const replacement = Buffer.from(rewrite.to);
  return () => rewriterOf(search, replacement);
}

function rewriterOf(search: Buffer, replacement: Buffer): UrlRewriter {
  let pending = NOTHING;
  return {
    write(chunk) {
      const data = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const found: number[] = [];
      let start = 0;
      for (let at = data.indexOf(search); at >= 0; at = data.indexOf(search, start)) {
        found.push(at);
        start = at + search.length;
      }
      const held = heldBackStart(data, start, search);
      // A copy: the tail must not keep the socket's whole read buffer alive.
      pending = held === data.length ? NOTHING : Buffer.from(data.subarray(held));
      if (found.length === 0) return held === data.length ? data : data.subarray(0, held);
      return spliced(data, held, found, search.length, replacement);
    },
    end() {
      const rest = pending;
      pending = NOTHING;
      return rest;
    },
  };
}

/** `data[0..end]` with the `length` bytes at each offset in `found` replaced by `replacement`: one allocation, copies by range. */
function spliced(data: Buffer, end: number, found: readonly number[], length: number, replacement: Buffer): Buffer {
  const out = Buffer.allocUnsafe(end + found.length * (replacement.length - length));
  let from = 0;
  let to = 0;
  for (const at of found) {
    to += data.copy(out, to, from, at);
    to += replacement.copy(out, to);
    from = at + length;
  }
  data.copy(out, to, from, end);
  return out;
}

/**
 * Location headers: resolved against the upstream request (Orthanc answers `/` with the relative
 * `app/explorer.html`), and when they point into Orthanc, mapped back under the route's public
 * prefix, e.g. `/app/explorer.html` → `PUBLIC_URL/pacs-admin/app/explorer.html`. Locations
 * elsewhere are left alone.
 */
export function rewriteLocation(
  location: string,
  { upstreamPath, publicPrefixUrl, publicOrigin }: { upstreamPath: string; publicPrefixUrl: string; publicOrigin: string },
): string {
  const upstreamOrigin = 'http://upstream.invalid';
  let resolved: URL;
  try {
    resolved = new URL(location, upstreamOrigin + upstreamPath);
  } catch {
    return location;
  }
  if (resolved.origin !== upstreamOrigin && resolved.origin !== publicOrigin) return location;
  return publicPrefixUrl + resolved.pathname + resolved.search;
}
