import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { DOCKER_DIR, ORTHANC_CONFIG_FILE, readOrthancConfig, stripJsonComments } from '../support/docker-stack.js';

/**
 * docker/orthanc.json: the hardened Orthanc behind the gateway (seed 000: authentication on with
 * one service user; seed 002: Lua, file export, WebDAV off, find limits, DICOM side hardened).
 */

const ORTHANC_BINARY = '/usr/sbin/Orthanc';
const rawText = readFileSync(ORTHANC_CONFIG_FILE, 'utf8');
const config = readOrthancConfig();

describe('HTTP side', () => {
  it('keeps authentication on with exactly one service user whose password comes from the environment', () => {
    expect(config['RemoteAccessAllowed']).toBe(true);
    expect(config['AuthenticationEnabled']).toBe(true);
    expect(config['RegisteredUsers']).toEqual({ gateway: '${ORTHANC_GATEWAY_PASSWORD}' });
  });

  it('the only dollar sign in the file is that placeholder (the image runs envsubst over everything)', () => {
    expect(rawText.match(/\$/g)).toHaveLength(1);
    expect(rawText).toContain('"${ORTHANC_GATEWAY_PASSWORD}"');
  });

  it('after substitution (what the image does at start-up) the password is in place', () => {
    const substituted = readOrthancConfig({ ORTHANC_GATEWAY_PASSWORD: '0123abcd' });
    expect(substituted['RegisteredUsers']).toEqual({ gateway: '0123abcd' });
  });

  it.each([
    ['ExecuteLuaEnabled', false],
    ['LuaScripts', []],
    ['RestApiWriteToFileSystemEnabled', false],
    ['WebDavEnabled', false],
    ['WebDavDeleteAllowed', false],
    ['WebDavUploadAllowed', false],
    ['LimitFindResults', 100],
    ['LimitFindInstances', 100],
    ['HttpsVerifyPeers', true],
    ['HttpCompressionEnabled', false],
    ['OverwriteInstances', false],
    ['DeidentifyLogs', true],
    ['SslEnabled', false],
    ['HttpPort', 8042],
  ])('%s = %j', (option, value) => {
    expect(config[option]).toEqual(value);
  });

  it('sets a StableAge', () => {
    expect(typeof config['StableAge']).toBe('number');
    expect(config['StableAge']).toBeGreaterThan(0);
  });
});

describe('DICOM side (seed 002)', () => {
  it.each([
    ['DicomServerEnabled', false],
    ['DicomAlwaysAllowEcho', false],
    ['DicomAlwaysAllowStore', false],
    ['DicomAlwaysAllowFind', false],
    ['DicomAlwaysAllowFindWorklist', false],
    ['DicomAlwaysAllowGet', false],
    ['DicomAlwaysAllowMove', false],
    ['DicomCheckCalledAet', true],
    ['DicomCheckModalityHost', true],
    ['DicomModalities', {}],
    ['DicomModalitiesInDatabase', false],
    ['OrthancPeers', {}],
    ['OrthancPeersInDatabase', false],
  ])('%s = %j', (option, value) => {
    expect(config[option]).toEqual(value);
  });
});

describe('DICOMweb plugin', () => {
  it('is enabled at /dicom-web/ with WADO-URI at /wado and no remote servers', () => {
    expect(config['DicomWeb']).toEqual({ Enable: true, Root: '/dicom-web/', EnableWado: true, WadoRoot: '/wado', Servers: {} });
  });
});

describe('option names are Orthanc\'s own', () => {
  // The default configuration Orthanc prints documents every core option (some only inside
  // comments, e.g. AuthenticationEnabled). DicomWeb is the plugin's section, checked above.
  const hasBinary = existsSync(ORTHANC_BINARY);
  const defaults = (() => {
    if (!hasBinary) return '';
    const dir = mkdtempSync(join(tmpdir(), 'orthanc-defaults-'));
    try {
      execFileSync(ORTHANC_BINARY, [`--config=${join(dir, 'defaults.json')}`], { stdio: 'ignore' });
      return readFileSync(join(dir, 'defaults.json'), 'utf8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();

  (hasBinary ? it : it.skip)('every top-level option of docker/orthanc.json appears in `Orthanc --config` output', () => {
    const unknown = Object.keys(config).filter((key) => key !== 'DicomWeb' && !defaults.includes(`"${key}"`));
    expect(unknown).toEqual([]);
  });

  (hasBinary ? it : it.skip)('the TLS options documented in docker/README.md exist too', () => {
    const readme = readFileSync(join(DOCKER_DIR, 'README.md'), 'utf8');
    for (const option of ['SslEnabled', 'SslCertificate', 'SslVerifyPeers', 'SslTrustedClientCertificates']) {
      expect(readme).toContain(option);
      expect(defaults).toContain(`"${option}"`);
    }
  });
});

describe('stripJsonComments', () => {
  it('removes // and /* */ comments but keeps them inside strings', () => {
    const text = '// head\n{ "a": "http://x/*y*/", /* block */ "b": 1 // tail\n}';
    expect(JSON.parse(stripJsonComments(text))).toEqual({ a: 'http://x/*y*/', b: 1 });
  });
});
