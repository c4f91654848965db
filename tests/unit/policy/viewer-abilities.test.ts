import { describe, expect, it } from '@jest/globals';
import type { PolicyOptions, Subject } from '../../../src/policy/evaluate.js';
import { viewerAbilities } from '../../../src/policy/viewer-abilities.js';

const roles = { viewer: 'pacs-viewer', uploader: 'pacs-uploader', admin: 'pacs-admin' };
const plain: PolicyOptions = { roles, allowDangerous: false };
const perStudy: PolicyOptions = { ...plain, studyAccess: { bypassRoles: ['pacs-admin'] } };

const shareRoles = ['pacs-uploader', 'pacs-admin'];

describe('viewerAbilities: what the viewer offers, asked of the policy', () => {
  it.each<[string, Subject, PolicyOptions, { upload: boolean; admin: boolean; share: boolean }]>([
    ['no role', { roles: [] }, plain, { upload: false, admin: false, share: false }],
    ['viewer', { roles: ['pacs-viewer'] }, plain, { upload: false, admin: false, share: false }],
    ['uploader', { roles: ['pacs-uploader', 'pacs-viewer'] }, plain, { upload: true, admin: false, share: true }],
    ['admin alone', { roles: ['pacs-admin'] }, plain, { upload: true, admin: true, share: true }],
    ['share-link recipient (even holding a role)', { roles: ['pacs-uploader'], studyScope: '1.2.3' }, plain, { upload: false, admin: false, share: false }],
    // Sharing stays open to them: the share API checks each study against their claim.
    ['uploader restricted by per-study access', { roles: ['pacs-uploader'], studyAccess: ['Hospital A'] }, perStudy, { upload: false, admin: false, share: true }],
    ['admin under per-study access (bypass role)', { roles: ['pacs-admin'], studyAccess: [] }, perStudy, { upload: true, admin: true, share: true }],
    ['admin under per-study access without bypass', { roles: ['pacs-admin'], studyAccess: [] }, { ...plain, studyAccess: { bypassRoles: ['auditor'] } }, { upload: false, admin: false, share: true }],
    ['uploader role under another name', { roles: ['pacs-uploader'] }, { ...plain, roles: { ...roles, uploader: 'stow' } }, { upload: false, admin: false, share: true }],
  ])('%s', (_name, subject, options, expected) => {
    expect(viewerAbilities(subject, options, shareRoles)).toEqual(expected);
  });

  it('share follows SHARE_ROLES, not the upload role', () => {
    expect(viewerAbilities({ roles: ['pacs-viewer'] }, plain, ['pacs-viewer']).share).toBe(true);
    expect(viewerAbilities({ roles: ['pacs-uploader'] }, plain, ['pacs-admin']).share).toBe(false);
  });
});
