/** upstreamRequestHeaders: what reaches Orthanc of a client's headers, and the gateway's own. */
import { describe, expect, it } from '@jest/globals';
import { upstreamRequestHeaders } from '../../../src/upstream/proxy-headers.js';

const identity = { authorization: 'Basic c2VydmljZTpzZWNyZXQ=', forwarded: 'host=pacs.example.org;proto=https' };

describe('upstreamRequestHeaders', () => {
  it('keeps only allowlisted client headers, and names Orthanc as the host', () => {
    const headers = upstreamRequestHeaders(
      {
        host: 'pacs.example.org',
        accept: 'application/dicom+json',
        'accept-language': 'de',
        range: 'bytes=0-9',
        'content-type': 'application/dicom',
        'content-length': '10',
        authorization: 'Bearer client-token',
        cookie: 'gw.sid=abc',
        forwarded: 'for=1.2.3.4;host=evil.example',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-for': '1.2.3.4',
        'x-remote-user': 'admin',
        'x-http-method-override': 'DELETE',
        connection: 'keep-alive, x-remote-user',
        expect: '100-continue',
        upgrade: 'websocket',
      },
      'orthanc:8042',
      identity,
    );
    expect(headers).toEqual({
      host: 'orthanc:8042',
      accept: 'application/dicom+json',
      'accept-language': 'de',
      range: 'bytes=0-9',
      'content-type': 'application/dicom',
      'content-length': '10',
      authorization: identity.authorization,
      forwarded: identity.forwarded,
    });
  });

  it("replaces a client value of an identity header's name with the gateway's, whatever its case", () => {
    const headers = upstreamRequestHeaders({ 'user-agent': 'client' }, 'orthanc:8042', { ...identity, identityHeaders: { 'User-Agent': 'alice', 'X-Remote-Roles': 'pacs-viewer' } });
    expect(headers['user-agent']).toBe('alice');
    expect(headers['x-remote-roles']).toBe('pacs-viewer');
    expect(Object.keys(headers).filter((name) => name.toLowerCase() === 'user-agent')).toEqual(['user-agent']);
  });

  it('sends no Authorization of the client even when it is the only header', () => {
    expect(upstreamRequestHeaders({ authorization: 'Basic YWRtaW46YWRtaW4=' }, 'orthanc:8042', identity)['authorization']).toBe(identity.authorization);
  });
});
