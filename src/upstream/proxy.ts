// Stage 4, upstream — enters: an allowed canonical request; leaves: Orthanc's answer relayed (credential, identity headers, URL rewrite, retry); Orthanc's own errors become the gateway's.
import http, { type Agent, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Dispatcher } from 'undici';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type { Request, RequestHandler, Response } from 'express';
import type { Config } from '../config/config.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { bodyWasTooLarge, countStreamedBody } from '../request/body-limit.js';
import { sendError } from '../respond/error-handler.js';
import { upstreamTarget } from '../canonical/canonical-request.js';
import { classifiedRequest, requestState } from '../respond/request-state.js';
import { LOGGED_ERROR_BODY_CHARS, orthancErrorAnswer } from './orthanc-errors.js';
import { answerStudyNotFound } from '../respond/refusal.js';
import { isCloseDelimited, multipartBoundary, multipartEndCheck } from './multipart-guard.js';
import { relayDropBoxAnswer } from './drop-box-answer.js';
import { relayRewritten, relayStream } from './relay-stream.js';
import { createSearchFilterStream } from './search-filter.js';
import { createUnpooledUpstreamAgent } from './upstream-agent.js';
import { createUpstreamLimit } from './upstream-limit.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './proxy-headers.js';
import { describeProxyErrorPage, describeUpstreamError, isProxyErrorPage, readErrorPage } from './upstream-errors.js';
import { createUpstreamIdentity } from './upstream-identity.js';
import { failedOnReusedConnection, isPooledTimeout, sendPooled } from './upstream-pool.js';
import { isStaleConnectionFailure } from './upstream-retry.js';
import { urlRewriterFor, isRewritableContentType, rewriteLocation, type UrlRewriter } from './url-rewrite.js';

export interface ProxyOptions {
  publicUrl: string;
  orthanc: Config['orthanc'];
  /** Connection pool to Orthanc for requests with a body (see upstream-agent.ts). */
  agent: Agent;
  /** Connection pool to a plain-HTTP Orthanc for bodiless requests (see upstream-pool.ts). */
  pool: Dispatcher | undefined;
  logger: Logger;
}

/** Orthanc's answer from either transport: node:http's IncomingMessage or upstream-pool.ts's stream of the same shape. */
type UpstreamResponse = Readable & { statusCode?: number; headers: IncomingHttpHeaders };

interface RelayContext {
  publicUrl: string;
  publicOrigin: string;
  newRewriter: () => UrlRewriter;
  logger: Logger;
}

const isJson = (contentType: string | undefined) => contentType !== undefined && /^application\/(dicom\+)?json\b/i.test(contentType);

function upstreamFailure(error: NodeJS.ErrnoException, req: IncomingMessage, timedOut: boolean): GatewayError {
  if (bodyWasTooLarge(req)) return new GatewayError('payload_too_large', 'The upload exceeds STOW_MAX_BYTES', { connection: 'close' });
  if (timedOut) return new GatewayError('gateway_timeout', 'Orthanc did not answer in time');
  return new GatewayError('bad_gateway', describeUpstreamError(error).message);
}

/** Orthanc's own 401 means the gateway's credential is wrong: never relay its Basic challenge. */
function refusedByOrthanc(status: number | undefined, credential: string): GatewayError | undefined {
  if (status === 401) return new GatewayError('bad_gateway', `Orthanc rejected the gateway's ${credential}`);
  if (status === 403) return new GatewayError('forbidden', 'Orthanc refused the request', {}, 'orthanc_forbidden');
  return undefined;
}

/** A drop-box holder's STOW-RS: its answer is read and cut down by the gateway (drop-box-answer.ts). */
const isDropBoxUpload = (res: Response) => requestState(res).principal?.dropBox === true && requestState(res).route?.class === 'dicomweb-store';

/** Streams Orthanc's answer to the client, rewriting Orthanc URLs in JSON/XML bodies and Location. */
function relayResponse(proxyRes: UpstreamResponse, { req, res, credential }: UpstreamCall, context: RelayContext): void {
  const refusal = refusedByOrthanc(proxyRes.statusCode, credential);
  if (refusal) {
    if (refusal.status === 502) requestState(res).upstreamError = 'credential_rejected';
    proxyRes.resume();
    return sendError(res, refusal);
  }
  if (isProxyErrorPage(proxyRes.statusCode, proxyRes.headers['content-type'])) {
    // A TLS proxy before Orthanc refused the gateway (e.g. nginx: no client certificate): a 502, not the client's 400.
    requestState(res).upstreamError = 'unreachable';
    void readErrorPage(proxyRes).then((page) => {
      const problem = describeProxyErrorPage(page);
      context.logger.warn({ requestId: requestState(res).requestId, hint: problem.hint }, problem.message);
      sendError(res, new GatewayError('bad_gateway', problem.message));
    });
    return;
  }
  const { route, requestId, searchFilter } = requestState(res);
  if ((proxyRes.statusCode ?? 502) >= 500) requestState(res).upstreamError = 'server_error';
  if ((proxyRes.statusCode ?? 502) >= 400) return replaceOrthancError(proxyRes, req, res, context.logger);
  if (isDropBoxUpload(res)) return relayDropBoxAnswer(proxyRes, res);
  const filter = searchFilter && proxyRes.statusCode === 200 ? searchFilter : undefined;
  if (filter && !isJson(proxyRes.headers['content-type'])) {
    // Fail closed: results the gateway cannot read are results it cannot filter.
    proxyRes.resume();
    return sendError(res, new GatewayError('bad_gateway', 'Orthanc answered a filtered search with something other than JSON'));
  }
  const bodyRewritten = isRewritableContentType(proxyRes.headers['content-type']);
  const headers = clientResponseHeaders(proxyRes.headers, { bodyRewritten });
  if (typeof headers['location'] === 'string' && route) {
    headers['location'] = rewriteLocation(headers['location'], {
      upstreamPath: route.upstreamPath,
      publicPrefixUrl: context.publicUrl + route.prefix,
      publicOrigin: context.publicOrigin,
    });
  }
  res.writeHead(proxyRes.statusCode ?? 502, headers);
  // A close-delimited multipart body (WADO-RS retrieve) cut short must abort the client's download, not end it.
  const boundary = req.method !== 'HEAD' && isCloseDelimited(proxyRes.headers) ? multipartBoundary(proxyRes.headers['content-type']) : undefined;
  const filtered = filter !== undefined && req.method !== 'HEAD';
  const onError = (error: Error) => {
    context.logger.warn({ err: error, requestId }, 'upstream response stream failed');
  };
  if (bodyRewritten && !filtered) return relayRewritten(proxyRes, res, context.newRewriter(), onError, declaredLength(proxyRes.headers));
  const transforms = filtered ? [createSearchFilterStream(filter, bodyRewritten ? context.newRewriter() : undefined)] : [];
  const endCheck = boundary && !bodyRewritten ? multipartEndCheck(boundary) : undefined;
  relayStream(proxyRes, res, transforms, onError, endCheck);
}

/** The body length Orthanc announced (a Content-Length without Transfer-Encoding), if any. */
function declaredLength(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['content-length'];
  return value !== undefined && headers['transfer-encoding'] === undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** Answers an Orthanc error with the gateway's own error; Orthanc's body goes to the log only (truncated). */
function replaceOrthancError(proxyRes: UpstreamResponse, req: Request, res: Response, logger: Logger): void {
  const status = proxyRes.statusCode ?? 502;
  const state = requestState(res);
  const studyScoped = state.principal?.studyScope !== undefined || state.studyAccess !== undefined;
  void readErrorPage(proxyRes, LOGGED_ERROR_BODY_CHARS).then((body) => {
    const log = status >= 500 ? logger.warn.bind(logger) : logger.debug.bind(logger);
    log({ requestId: state.requestId, status, orthancBody: body }, 'Orthanc answered an error (replaced by the gateway\'s own)');
    const answer = orthancErrorAnswer(status, { studyScoped });
    if (answer.status === 404 && studyScoped) return answerStudyNotFound(req, res, answer);
    sendError(res, answer);
  });
}

/** One request's call to Orthanc: the current attempt and what happened to it. */
interface UpstreamCall {
  req: Request;
  res: Response;
  /** The current attempt on node:http (a request with a body, or a retry). */
  attempt: ClientRequest | undefined;
  /** Cancels the current attempt on the pool (a bodiless request). */
  cancel: (() => void) | undefined;
  /** Which Orthanc credential it was sent with (its label, for the 401 message). */
  credential: string;
  answered: boolean;
  retried: boolean;
  timedOut: boolean;
  /** The client went away before the response was complete (the upstream request is cancelled). */
  clientGone: boolean;
}

/** Methods sent with an explicit empty body when the client declared none (as http-proxy did, which the gateway used before). */
const NEEDS_EMPTY_LENGTH = new Set(['DELETE', 'OPTIONS']);

/**
 * Sends requests to Orthanc with node:http directly, the connection pool as agent: headers built
 * once from the allowlist and the gateway's identity (never the client's own), the path serialized
 * from the canonical request, the body (if any) piped through, the answer relayed by relayResponse.
 */
function createUpstreamSender({ publicUrl, orthanc, agent, pool, logger }: ProxyOptions) {
  const base = new URL(publicUrl);
  const target = new URL(orthanc.url);
  const transport = target.protocol === 'https:' ? https : http;
  const basePath = target.pathname.replace(/\/+$/, '');
  const port = target.port || (target.protocol === 'https:' ? 443 : 80);
  const hostname = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const forwarded = `host=${base.host};proto=${base.protocol.replace(':', '')}`;
  const retryAgent = createUnpooledUpstreamAgent(orthanc);
  // Basic header values for the service user and every per-role user are computed here, once.
  const resolveIdentity = createUpstreamIdentity(orthanc);
  const rewrite = { from: `${base.origin}/dicom-web/`, to: `${publicUrl}/pacs/dicom-web/` };
  const context: RelayContext = { publicUrl, publicOrigin: base.origin, newRewriter: urlRewriterFor(rewrite), logger };

  const fail = (call: UpstreamCall, error: NodeJS.ErrnoException) => {
    const { req, res } = call;
    if (call.clientGone) return; // cancelled: nobody to answer, nothing went wrong upstream
    if (retryOnNewConnection(call, error)) return;
    const failure = upstreamFailure(error, req, call.timedOut);
    requestState(res).upstreamError = failure.code === 'gateway_timeout' ? 'timeout' : 'unreachable';
    logger.warn({ err: error, requestId: requestState(res).requestId, hint: describeUpstreamError(error).hint }, failure.message);
    sendError(res, failure);
  };

  // See upstream-retry.ts: a request that met a connection Orthanc was closing goes once more, on a new one.
  const retryOnNewConnection = (call: UpstreamCall, error: NodeJS.ErrnoException): boolean => {
    if (call.retried || call.answered || call.timedOut || call.res.headersSent) return false;
    const reused = call.attempt ? call.attempt.reusedSocket : failedOnReusedConnection(error);
    if (!isStaleConnectionFailure(error, classifiedRequest(requestState(call.res)), reused)) return false;
    call.retried = true;
    logger.info({ requestId: requestState(call.res).requestId, code: error.code }, 'Orthanc closed a reused connection before answering: retrying on a new connection');
    send(call, retryAgent);
    return true;
  };

  const send = (call: UpstreamCall, via: Agent | Dispatcher) => {
    const { req, res } = call;
    const state = requestState(res);
    const { credential, headers: identityHeaders } = resolveIdentity(state.principal);
    call.credential = credential.label;
    const headers = upstreamRequestHeaders(req.headers, target.host, { authorization: credential.authorization, forwarded, identityHeaders });
    // A filtered search is read by the gateway: ask for the one format it reads.
    if (state.searchFilter || isDropBoxUpload(res)) headers['accept'] = 'application/dicom+json';
    if (NEEDS_EMPTY_LENGTH.has(req.method) && headers['content-length'] === undefined) {
      headers['content-length'] = '0';
      delete headers['transfer-encoding'];
    }
    const request = classifiedRequest(state);
    // Never the client's URL: the canonical request, serialized (canonical-request.ts).
    const path = basePath + upstreamTarget(state.route!, request);
    if (!(via instanceof http.Agent)) {
      call.cancel = sendPooled(via, { path, method: req.method, headers }, {
        onAnswer: (answer) => {
          call.answered = true;
          relayResponse(answer, call, context);
        },
        onError: (error) => {
          call.timedOut = isPooledTimeout(error);
          fail(call, error);
        },
      });
      return;
    }
    call.cancel = undefined;
    // The timeout as a request option, not attempt.setTimeout(): that starts only once a new
    // connection has connected, so a connect that hangs would go untimed.
    const attempt = transport.request({ hostname, port, path, method: req.method, headers, agent: via, timeout: orthanc.timeoutMs });
    call.attempt = attempt;
    attempt.on('timeout', () => {
      call.timedOut = true;
      attempt.destroy(new Error('upstream timeout'));
    });
    attempt.on('error', (error: NodeJS.ErrnoException) => fail(call, error));
    attempt.on('response', (upstreamRes: IncomingMessage) => {
      call.answered = true;
      relayResponse(upstreamRes, call, context);
    });
    // A retry has no body (upstream-retry.ts). Without a body the request to Orthanc ends now, not a
    // tick after the client's request has ended, as piping it would.
    if (call.retried || !request.hasBody) return void attempt.end();
    countStreamedBody(req, attempt, state.streamedBodyLimit);
    req.pipe(attempt);
  };

  return (req: Request, res: Response) => {
    const call: UpstreamCall = { req, res, attempt: undefined, cancel: undefined, credential: 'service credential', answered: false, retried: false, timedOut: false, clientGone: false };
    // The client gave up (a viewer scrolled past a frame): cancel the request to Orthanc too, which
    // frees its connection at once instead of waiting for Orthanc's answer (or ORTHANC_TIMEOUT_MS).
    res.once('close', () => {
      if (res.writableFinished) return;
      const { attempt, cancel } = call;
      if (attempt) {
        if (attempt.destroyed) return;
        call.clientGone = true;
        return void attempt.destroy();
      }
      call.clientGone = true;
      cancel?.();
    });
    send(call, pool && !classifiedRequest(requestState(res)).hasBody ? pool : agent);
  };
}

/**
 * Last stage: forwards an authorized request to Orthanc with the service credential (or the
 * caller's per-role Orthanc user) and optional identity headers, streaming both ways.
 */
export function proxyToOrthanc(options: ProxyOptions): RequestHandler {
  const forward = createUpstreamSender(options);
  const limit = createUpstreamLimit(options.orthanc.maxConnections, options.orthanc.timeoutMs);
  return (req, res) => {
    const state = requestState(res);
    if (!state.route) throw new Error('No route: the request was not classified');
    classifiedRequest(state); // fails closed here, before anything is sent, rather than inside the proxy
    limit(req, res, () => forward(req, res));
  };
}
