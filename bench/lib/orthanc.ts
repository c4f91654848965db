import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../tests/support/free-port.js';
import { waitFor } from '../../tests/support/process.js';
import { spawnLogged, type BenchProcess } from './processes.js';

export const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

export interface BenchOrthanc extends BenchProcess {
  url: string;
  authorization: string;
  username: string;
  password: string;
  /** fetch with the service credential. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/**
 * Orthanc as Debian ships it (defaults: 50 HTTP threads, Keep-Alive with a 1 s timeout), with
 * authentication on and the DICOMweb plugin. Unlike the test helper, no Lua request log: it would
 * slow every request down.
 */
export async function startBenchOrthanc(dir: string): Promise<BenchOrthanc> {
  const home = join(dir, 'orthanc');
  await mkdir(home, { recursive: true });
  const port = await freePort();
  const username = 'gateway';
  const password = randomBytes(18).toString('base64url');
  const config = {
    Name: 'gateway-bench-orthanc',
    HttpPort: port,
    DicomServerEnabled: false,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [username]: password },
    StorageDirectory: join(home, 'storage'),
    IndexDirectory: join(home, 'storage'),
    Plugins: [DICOMWEB_PLUGIN],
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
  };
  const configFile = join(home, 'orthanc.json');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const proc = spawnLogged('/usr/sbin/Orthanc', [configFile], { cwd: home, logFile: join(dir, 'orthanc.log') });
  const url = `http://127.0.0.1:${port}`;
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const orthancFetch = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', authorization);
    return fetch(url + path, { ...init, headers });
  };
  try {
    await waitFor(async () => (await orthancFetch('/dicom-web/studies')).status === 200, {
      what: `Orthanc with DICOMweb on port ${port}`,
      timeoutMs: 20_000,
      abortIf: () => (proc.exited() ? `Orthanc exited:\n${proc.log().slice(-4000)}` : undefined),
    });
  } catch (error) {
    await proc.stop('SIGKILL');
    throw error;
  }
  return { ...proc, url, authorization, username, password, fetch: orthancFetch };
}

/** Uploads instances through Orthanc's REST API (setup, not measured), a few at a time. */
export async function uploadAll(orthanc: BenchOrthanc, files: Buffer[], parallel = 4): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++]!;
      const res = await orthanc.fetch('/instances', { method: 'POST', headers: { 'content-type': 'application/dicom' }, body: file });
      if (!res.ok) throw new Error(`Orthanc POST /instances -> ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** Deletes a study by its StudyInstanceUID, if Orthanc has it. */
export async function deleteStudy(orthanc: BenchOrthanc, studyInstanceUid: string): Promise<void> {
  const res = await orthanc.fetch('/tools/lookup', { method: 'POST', body: studyInstanceUid });
  const found = (await res.json()) as Array<{ ID: string; Type: string }>;
  for (const item of found.filter((entry) => entry.Type === 'Study')) {
    const deleted = await orthanc.fetch(`/studies/${item.ID}`, { method: 'DELETE' });
    if (!deleted.ok) throw new Error(`Orthanc DELETE /studies/${item.ID} -> ${deleted.status}`);
    await deleted.arrayBuffer();
  }
}
