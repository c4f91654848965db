import type { Readable } from 'node:stream';
import type { Response } from 'express';
import { GatewayError } from '../errors.js';
import { sendError } from '../respond/error-handler.js';

/** The most of Orthanc's STOW-RS answer the gateway reads for a drop-box holder (one entry per instance sent). */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

const REFERENCED_SOP_SEQUENCE = '00081199';
const FAILED_SOP_SEQUENCE = '00081198';
/** What a holder sees of each instance: its SOP class and instance UID (both from their own files), and why it failed. */
const KEPT_IN_ITEMS: Record<string, readonly string[]> = {
  [REFERENCED_SOP_SEQUENCE]: ['00081150', '00081155'],
  [FAILED_SOP_SEQUENCE]: ['00081150', '00081155', '00081197'],
};

type DicomJson = Record<string, { vr?: string; Value?: unknown[] }>;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A drop-box holder's view of Orthanc's STOW-RS answer: per instance only the UIDs they sent and a
 * failure reason. Retrieve URLs (of the study, of each instance) are left out — the holder may read
 * nothing, and a URL would name where their upload went in the archive — and so is anything else
 * Orthanc adds. Nothing of the archive beyond the holder's own files is named.
 */
export function dropBoxStowAnswer(answer: unknown): DicomJson {
  if (!isObject(answer)) throw new TypeError('the STOW-RS answer is not a DICOM JSON object');
  const kept: DicomJson = {};
  for (const [sequence, tags] of Object.entries(KEPT_IN_ITEMS)) {
    const element = answer[sequence];
    if (!isObject(element) || !Array.isArray(element['Value'])) continue;
    const items = element['Value'].filter(isObject).map((item) => Object.fromEntries(tags.filter((tag) => isObject(item[tag])).map((tag) => [tag, item[tag]])));
    kept[sequence] = { vr: 'SQ', Value: items };
  }
  return kept;
}

/** Reads Orthanc's (successful) STOW-RS answer and sends the holder their view of it; anything unreadable is a 502. */
export function relayDropBoxAnswer(proxyRes: Readable & { statusCode?: number }, res: Response): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  proxyRes.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) tooLarge = true;
    else chunks.push(chunk);
  });
  proxyRes.once('error', () => sendError(res, new GatewayError('bad_gateway', 'Orthanc’s answer to the upload broke off')));
  proxyRes.once('end', () => {
    try {
      if (tooLarge) throw new Error('too large');
      const answer = dropBoxStowAnswer(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.status(proxyRes.statusCode ?? 200).set({ 'content-type': 'application/dicom+json', 'cache-control': 'no-store' }).send(JSON.stringify(answer));
    } catch {
      sendError(res, new GatewayError('bad_gateway', 'Orthanc answered the upload with something the gateway cannot read'));
    }
  });
}
