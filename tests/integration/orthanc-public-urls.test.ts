/**
 * Issue 16, "QIDO: let Orthanc write the public URLs itself" (evidence for bench/README.md, "Issue
 * 16"; the proxy does not use it: no CPU gain measurable here). Orthanc's DICOMweb plugin 1.7 builds
 * its URLs as proto + "://" + the `Forwarded` host, taken verbatim, + its Root (`/dicom-web/`); so
 * a host carrying the public path (`host=pacs.example.org/gw/pacs`) makes the real Orthanc of this
 * machine answer with the very bytes the gateway's streaming rewrite produces today from its answer
 * to the plain `Forwarded` header (host and proto only). Also records what Orthanc does not honour:
 * X-Forwarded-Host, and the PublicRoot option, which DICOMweb 1.7 predates (it came in 1.8).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { urlRewriterFor } from '../../src/upstream/url-rewrite.js';
import { makeSeries } from '../support/dicom.js';
import { ACCEPT_DICOM_JSON, stowBody } from '../support/dicomweb.js';
import { orthancFetch, startOrthanc, uploadInstances, type TestOrthanc } from '../support/orthanc.js';

/** `Forwarded` with the public path in `host` (a PUBLIC_URL in normalized form, no `;` `,` `=` `"`). */
const forwardedWithPath = (publicUrl: string) => {
  const url = new URL(publicUrl);
  return `host=${url.host}${url.pathname.replace(/\/+$/, '')}/pacs;proto=${url.protocol.slice(0, -1)}`;
};

/** Today's rewrite applied to a whole answer. */
function rewritten(body: Buffer, publicUrl: string): Buffer {
  const origin = new URL(publicUrl).origin;
  const rewriter = urlRewriterFor({ from: `${origin}/dicom-web/`, to: `${publicUrl}/pacs/dicom-web/` })();
  return Buffer.concat([rewriter.write(body), rewriter.end()]);
}

describe('Orthanc writing the gateway\'s public DICOMweb URLs itself (Forwarded host with a path)', () => {
  let orthanc: TestOrthanc;
  const series = makeSeries({ modality: 'CT', patientName: 'Public^Urls', patientId: 'P-PUBLIC-URLS', instances: 2, rows: 64, columns: 64 });
  const study = `/dicom-web/studies/${series.studyInstanceUid}`;
  const answers = [
    ['QIDO studies', '/dicom-web/studies'],
    ['QIDO series', `${study}/series`],
    ['QIDO instances', `${study}/instances`],
    ['study metadata', `${study}/metadata`],
  ] as const;

  beforeAll(async () => {
    orthanc = await startOrthanc({ extraConfig: { DicomWeb: { Enable: true, Root: '/dicom-web/', PublicRoot: '/ignored-by-dicomweb-1.7/' } } });
    await uploadInstances(orthanc, series.files);
  }, 60_000);
  afterAll(async () => {
    await orthanc?.stop();
  });

  const get = async (path: string, forwarded: string, extra: Record<string, string> = {}) => {
    const res = await orthancFetch(orthanc, path, { headers: { accept: ACCEPT_DICOM_JSON, ...(forwarded ? { forwarded } : {}), ...extra } });
    expect([path, res.status]).toEqual([path, 200]);
    return Buffer.from(await res.arrayBuffer());
  };

  for (const publicUrl of ['https://pacs.example.org', 'http://gateway.example.org:8443/imaging/gw']) {
    it(`same bytes as today's rewrite for every JSON answer (PUBLIC_URL ${publicUrl})`, async () => {
      const { host, protocol } = new URL(publicUrl);
      const plain = `host=${host};proto=${protocol.slice(0, -1)}`;
      const withPath = forwardedWithPath(publicUrl);
      for (const [what, path] of answers) {
        const direct = await get(path, withPath);
        expect([what, direct.toString().includes(`"${publicUrl}/pacs/dicom-web/studies/${series.studyInstanceUid}`)]).toEqual([what, true]);
        expect([what, direct.equals(rewritten(await get(path, plain), publicUrl))]).toEqual([what, true]);
      }
    });
  }

  it('a STOW-RS answer too (RetrieveURL of the study and of each instance)', async () => {
    const publicUrl = 'https://pacs.example.org/gw';
    const stowed = makeSeries({ modality: 'MR', patientName: 'Public^Stow', patientId: 'P-PUBLIC-STOW', instances: 1, rows: 32, columns: 32 });
    const answer = async (forwarded: string) => {
      const { body, contentType } = stowBody(stowed.files);
      const res = await orthancFetch(orthanc, '/dicom-web/studies', { method: 'POST', headers: { 'content-type': contentType, accept: ACCEPT_DICOM_JSON, forwarded }, body });
      expect(res.status).toBe(200);
      return Buffer.from(await res.arrayBuffer());
    };
    const direct = await answer(forwardedWithPath(publicUrl));
    expect(direct.toString()).toContain(`"${publicUrl}/pacs/dicom-web/studies/${stowed.studyInstanceUid}`);
    expect(direct.equals(rewritten(await answer('host=pacs.example.org;proto=https'), publicUrl))).toBe(true);
  });

  it('Orthanc 1.10.1 + DICOMweb 1.7 honour neither PublicRoot nor X-Forwarded-Host: only Forwarded carries the public URL', async () => {
    const viaXForwarded = (await get('/dicom-web/studies', '', { 'x-forwarded-host': 'pacs.example.org', 'x-forwarded-proto': 'https' })).toString();
    expect(viaXForwarded).not.toContain('pacs.example.org');
    expect(viaXForwarded).toContain(`${orthanc.url}/dicom-web/studies/`);
    expect(viaXForwarded).not.toContain('ignored-by-dicomweb-1.7');
  });
});
