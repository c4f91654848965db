import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { spawnManaged, stopProcess, waitFor, type ManagedProcess } from './process.js';

export const ORTHANC_BINARY = '/usr/sbin/Orthanc';
export const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

export interface StartOrthancOptions {
  /** RegisteredUsers; the first entry is the service user returned as username/password. */
  users?: Record<string, string>;
  authenticationEnabled?: boolean;
  /** Shallow-merged over the generated configuration (LuaScripts are appended, not replaced). */
  extraConfig?: Record<string, unknown>;
  /** Fixed HTTP port (npm run dev); default a free port. */
  port?: number;
  /** Folder to keep config and storage in across runs (npm run dev); default a temp dir removed on stop. */
  dir?: string;
  /**
   * Extra Orthanc-side rules: the body of a Lua function `(method, uri, ip, username, httpHeaders)`
   * that must return true (allow) or false (Orthanc answers 403). It runs inside the request-logging
   * `IncomingHttpRequestFilter` after the request was logged (a second definition of that global
   * would replace the logger). A Lua error counts as false. Default: allow everything.
   */
  luaFilter?: string;
  /**
   * Orthanc's own log at verbose level, written to a file (then not to output()): what its plugins
   * received, e.g. the arguments of every QIDO-RS request (`qidoArguments()`), query string included.
   */
  verboseLog?: boolean;
}

export interface SeenRequest {
  request: string;
  headers: Record<string, string>;
  /** The Orthanc user the request authenticated as (the filter's `username` argument). */
  username?: string;
  /** What the request filter answered (false: Orthanc refused the request with 403). */
  allowed?: boolean;
}

function parseHeaderLog(text: string): SeenRequest[] {
  const seen: SeenRequest[] = [];
  for (const line of text.split('\n').filter(Boolean)) {
    const header = /^  ([^:]+): (.*)$/.exec(line);
    const meta = /^@ (username|allowed) (.*)$/.exec(line);
    const current = seen[seen.length - 1];
    if (meta) {
      if (current && meta[1] === 'username') current.username = meta[2]!;
      if (current && meta[1] === 'allowed') current.allowed = meta[2] === 'true';
    } else if (!header) seen.push({ request: line, headers: {} });
    else if (current) current.headers[header[1]!] = header[2]!;
  }
  return seen;
}

/** `… Arguments of QIDO-RS request: [limit=2] [PatientID=P1]` lines of Orthanc's verbose log. */
function parseQidoArguments(log: string): string[][] {
  return [...log.matchAll(/Arguments of QIDO-RS request:(.*)$/gm)].map((match) => [...match[1]!.matchAll(/\[([^\]]*)\]/g)].map((arg) => arg[1]!));
}

export interface TestOrthanc {
  url: string;
  port: number;
  /** PID of the Orthanc process. */
  pid: number;
  username: string;
  password: string;
  /** The temp dir holding config, storage, index and the request log. */
  dir: string;
  storageDir: string;
  /** "METHOD /uri" for every request that reached Orthanc's REST layer (see REQUEST_LOG_LUA). */
  seenRequests(): Promise<string[]>;
  requestCount(): Promise<number>;
  /** The HTTP headers of every logged request, lower-cased names. */
  seenHeaders(): Promise<SeenRequest[]>;
  /** Forget the requests seen so far (e.g. after test setup uploads). */
  clearSeenRequests(): Promise<void>;
  /**
   * With `verboseLog`: the arguments of each QIDO-RS request as Orthanc's DICOMweb plugin logged
   * them, oldest first, e.g. `['limit=2', 'PatientID=P1']` (the request log above has no query strings).
   */
  qidoArguments(): Promise<string[][]>;
  /** Captured Orthanc log output (tail). */
  output(): string;
  stop(): Promise<void>;
}

/*
 * Request log via Orthanc's Lua IncomingHttpRequestFilter (checked with Debian's 1.10.1: the
 * Lua `io` library is available and the filter runs for REST and plugin routes like
 * /dicom-web/*). Caveats measured on 1.10.1:
 *  - the filter only runs AFTER HTTP Basic authentication succeeded: requests Orthanc rejects
 *    with 401 are not logged (neither does --verbose-http log them);
 *  - `uri` is the decoded, normalized path WITHOUT the query string
 *    (`/patients/%2e%2e` is logged as `/`).
 * Orthanc serializes calls into its Lua context, so appending from the filter is safe.
 */
function requestLogLua(logPath: string, luaFilter = 'return true'): string {
  return `
local function TestRequestRules(method, uri, ip, username, httpHeaders)
${luaFilter}
end

function IncomingHttpRequestFilter(method, uri, ip, username, httpHeaders)
  local f = io.open(${JSON.stringify(logPath)}, 'a')
  if f then
    f:write(method .. ' ' .. uri .. '\\n')
    f:close()
  end
  local ok, allowed = pcall(TestRequestRules, method, uri, ip, username, httpHeaders)
  allowed = ok and allowed == true
  local h = io.open(${JSON.stringify(logPath + '.headers')}, 'a')
  if h then
    h:write(method .. ' ' .. uri .. '\\n')
    for name, value in pairs(httpHeaders) do
      h:write('  ' .. string.lower(name) .. ': ' .. value .. '\\n')
    end
    h:write('@ username ' .. tostring(username) .. '\\n')
    h:write('@ allowed ' .. tostring(allowed) .. '\\n')
    h:close()
  end
  return allowed
end
`;
}

export function orthancBasicAuth(o: Pick<TestOrthanc, 'username' | 'password'>): string {
  return `Basic ${Buffer.from(`${o.username}:${o.password}`).toString('base64')}`;
}

/** fetch against the test Orthanc with the service credentials. */
export function orthancFetch(o: TestOrthanc, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) headers.set('authorization', orthancBasicAuth(o));
  return fetch(`${o.url}${path}`, { ...init, headers });
}

export interface UploadResult {
  ID: string;
  ParentPatient: string;
  ParentStudy: string;
  ParentSeries: string;
  Path: string;
  Status: string;
}

export async function uploadInstance(o: TestOrthanc, dicomBytes: Uint8Array): Promise<UploadResult> {
  const res = await orthancFetch(o, '/instances', {
    method: 'POST',
    headers: { 'content-type': 'application/dicom' },
    body: dicomBytes,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`Orthanc POST /instances -> ${res.status}: ${text}`);
  return JSON.parse(text) as UploadResult;
}

export async function uploadInstances(o: TestOrthanc, files: readonly Uint8Array[]): Promise<UploadResult[]> {
  const results: UploadResult[] = [];
  for (const file of files) results.push(await uploadInstance(o, file));
  return results;
}

async function startOnce(opts: StartOrthancOptions): Promise<TestOrthanc> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'orthanc-test-')));
  await mkdir(dir, { recursive: true });
  const storageDir = join(dir, 'storage');
  const requestLog = join(dir, 'requests.log');
  const luaPath = join(dir, 'request-log.lua');
  const configPath = join(dir, 'orthanc.json');
  const port = opts.port ?? (await freePort());

  const users = opts.users ?? { [`svc-${randomBytes(4).toString('hex')}`]: randomBytes(18).toString('base64url') };
  const [username, password] = Object.entries(users)[0] ?? ['', ''];
  const extra = opts.extraConfig ?? {};
  const extraLua = Array.isArray(extra['LuaScripts']) ? (extra['LuaScripts'] as unknown[]) : [];

  const config = {
    Name: 'gateway-test-orthanc',
    HttpPort: port,
    DicomServerEnabled: false,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: opts.authenticationEnabled ?? true,
    RegisteredUsers: users,
    StorageDirectory: storageDir,
    IndexDirectory: storageDir,
    Plugins: [DICOMWEB_PLUGIN],
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
    HttpVerbose: false,
    StableAge: 1,
    ...extra,
    LuaScripts: [luaPath, ...extraLua],
  };
  await writeFile(luaPath, requestLogLua(requestLog, opts.luaFilter));
  await writeFile(requestLog, '');
  await writeFile(configPath, JSON.stringify(config, null, 2));

  const url = `http://127.0.0.1:${port}`;
  const auth = orthancBasicAuth({ username, password });
  const logFile = join(dir, 'orthanc.log');
  const args = opts.verboseLog ? ['--verbose', `--logfile=${logFile}`, configPath] : [configPath];
  const proc: ManagedProcess = spawnManaged(ORTHANC_BINARY, args, { cwd: dir });
  const cleanup = async (): Promise<void> => {
    await stopProcess(proc, { timeoutMs: 10_000 });
    if (!opts.dir) await rm(dir, { recursive: true, force: true });
  };

  try {
    const abortIf = (): string | undefined => (proc.hasExited() ? 'Orthanc exited during startup' : undefined);
    await waitFor(async () => (await fetch(`${url}/system`, { headers: { authorization: auth } })).status === 200, {
      what: `Orthanc GET /system on port ${port}`,
      timeoutMs: 15_000,
      abortIf,
    });
    // An extraConfig without the DICOMweb plugin (e.g. `Plugins: []`) starts a plain Orthanc.
    if (Array.isArray(config.Plugins) && config.Plugins.includes(DICOMWEB_PLUGIN)) {
      await waitFor(async () => (await fetch(`${url}/dicom-web/studies`, { headers: { authorization: auth } })).status === 200, {
        what: 'the DICOMweb plugin (GET /dicom-web/studies)',
        timeoutMs: 5_000,
        abortIf,
      });
    }
  } catch (err) {
    const exitedByItself = proc.hasExited();
    const output = proc.output();
    await cleanup();
    const error = new Error(`${(err as Error).message}\n--- Orthanc output ---\n${output}`);
    (error as Error & { orthancExited?: boolean }).orthancExited = exitedByItself;
    throw error;
  }

  const clearSeenRequests = async () => {
    await writeFile(requestLog, '');
    await writeFile(`${requestLog}.headers`, '');
  };
  await clearSeenRequests(); // start the log empty: drop the readiness probes
  let stopped: Promise<void> | undefined;
  const seenRequests = async (): Promise<string[]> =>
    (await readFile(requestLog, 'utf8')).split('\n').filter((line) => line.length > 0);

  return {
    url,
    port,
    pid: proc.pid,
    username,
    password,
    dir,
    storageDir,
    seenRequests,
    requestCount: async () => (await seenRequests()).length,
    seenHeaders: async () => parseHeaderLog(await readFile(`${requestLog}.headers`, 'utf8').catch(() => '')),
    clearSeenRequests,
    qidoArguments: async () => parseQidoArguments(await readFile(logFile, 'utf8').catch(() => '')),
    output: () => proc.output(),
    stop: () => (stopped ??= cleanup()),
  };
}

/** Starts a throw-away Orthanc (+ DICOMweb) on a free loopback port; retries on a port race. */
export async function startOrthanc(opts: StartOrthancOptions = {}): Promise<TestOrthanc> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      lastError = err;
      // Only an early exit (typically "port already in use") is worth another try.
      if (opts.port !== undefined || !(err as { orthancExited?: boolean }).orthancExited) throw err;
    }
  }
  throw lastError;
}
