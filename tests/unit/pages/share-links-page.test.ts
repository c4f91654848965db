import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { renderDocument } from '../../../src/respond/page-document.js';
import { lifetimeChoices, shareLinksDocument } from '../../../src/pages/share-links-page.js';

describe('lifetimeChoices: what the share links page offers', () => {
  it.each<[number, Array<[number, boolean]>]>([
    [604_800, [[3_600, false], [86_400, true], [604_800, false]]],
    [2_592_000, [[3_600, false], [86_400, true], [604_800, false], [2_592_000, false]]],
    [86_400, [[3_600, false], [86_400, true]]],
    [7_200, [[3_600, true]]],
    [1_800, [[1_800, true]]],
  ])('SHARE_MAX_SECONDS=%i', (maxSeconds, expected) => {
    expect(lifetimeChoices(maxSeconds).map(({ seconds, selected }) => [seconds, selected])).toEqual(expected);
  });

  it('never offers more than SHARE_MAX_SECONDS and always offers something', () => {
    for (const max of [60, 3_599, 3_600, 90_000, 10_000_000]) {
      const choices = lifetimeChoices(max);
      expect(choices.length).toBeGreaterThan(0);
      expect(choices.every(({ seconds }) => seconds <= max)).toBe(true);
      expect(choices.filter(({ selected }) => selected)).toHaveLength(1);
    }
  });
});

describe('the share links page', () => {
  const { html, csp } = renderDocument(shareLinksDocument('<b>Uma</b>', 604_800));

  it('runs its one script by hash, loads nothing, talks only to its own origin', () => {
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    expect(script).toContain("'/auth/share'");
    expect(csp).toContain(`script-src 'sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}'`);
    expect(csp).toMatch(/^default-src 'none'; /);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/unsafe|https?:/);
    expect(html.match(/<script/g)).toHaveLength(1);
  });

  it('never writes API or DICOM values as HTML', () => {
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('names the user escaped and offers the lifetimes up to the maximum', () => {
    expect(html).toContain('You are signed in as &lt;b&gt;Uma&lt;/b&gt;.');
    expect(html).toContain('<option value="86400" selected>1 day</option>');
    expect(html).toContain('<option value="604800">7 days</option>');
    expect(html).not.toContain('30 days');
    expect(html).toContain('<form method="post" action="/auth/logout">');
  });

  it('offers drop-box links only to users who may upload', () => {
    expect(html).not.toContain('Create drop-box link');
    const uploader = renderDocument(shareLinksDocument('Uma', 604_800, true)).html;
    expect(uploader).toContain('<button id="drop-box" type="button">Create drop-box link</button>');
  });

  it('offers a maximum number of openings, unlimited preselected, and shows the uses left', () => {
    expect(html).toContain('<option value="" selected>Any number of times</option><option value="1">Once</option><option value="2">2 times</option>');
    expect(html).toContain('<th scope="col">Uses left</th>');
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    expect(script).toContain('request.maxUses = Number(');
  });
});
