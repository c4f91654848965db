import { StringDecoder } from 'node:string_decoder';
import { Transform } from 'node:stream';

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

/** Longest suffix of `text` that is a proper prefix of `search`: it may complete in the next chunk. */
function pendingPrefixLength(text: string, search: string): number {
  for (let length = Math.min(search.length - 1, text.length); length > 0; length--) {
    if (text.endsWith(search.slice(0, length))) return length;
  }
  return 0;
}

/** Streaming replace-all of `rewrite.from` by `rewrite.to`, correct across chunk and UTF-8 boundaries. */
export function createUrlRewriteStream(rewrite: UrlRewrite): Transform {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const text = pending + decoder.write(chunk);
      const replaced = text.split(rewrite.from);
      const tail = replaced.pop() ?? '';
      const keep = pendingPrefixLength(tail, rewrite.from);
      pending = tail.slice(tail.length - keep);
      const head = replaced.length ? replaced.join(rewrite.to) + rewrite.to : '';
      callback(null, head + tail.slice(0, tail.length - keep));
    },
    flush(callback) {
      callback(null, pending + decoder.end());
    },
  });
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
