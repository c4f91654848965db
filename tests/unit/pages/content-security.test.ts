import { describe, expect, it } from '@jest/globals';
import { inlineScriptHashes } from '../../../src/pages/content-security.js';

const ALERT = "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"; // alert(1)
const PUBLIC_URL = "'sha256-iDPt/Ua3DNNwIdzDqulCGYDYPv58ixnA75eez8NxOJg='"; // window.PUBLIC_URL="/"

describe('inlineScriptHashes: CSP hash sources of a page’s inline scripts', () => {
  it.each<[string, string, string[]]>([
    ['one inline script', '<script>alert(1)</script>', [ALERT]],
    ['two, in page order', '<head><script>window.PUBLIC_URL="/"</script></head><body><script>alert(1)</script></body>', [PUBLIC_URL, ALERT]],
    ['attributes on the tag', '<script type="text/javascript" defer>alert(1)</script>', [ALERT]],
    ['upper-case tags', '<SCRIPT>alert(1)</SCRIPT>', [ALERT]],
    ['external scripts are not inline', '<script src="/app.js"></script><script defer src="/b.js">alert(1)</script>', []],
    ['empty script blocks need no hash', '<script></script>', []],
    ['whitespace is part of the hashed text', '<script> alert(1)</script>', ["'sha256-PpWthAVQhisI84/daxF4UR/slLfkxcmXbOH0StZyNfo='"]],
    ['no script at all', '<p>hello</p>', []],
  ])('%s', (_name, html, expected) => {
    expect(inlineScriptHashes(html)).toEqual(expected);
  });
});
