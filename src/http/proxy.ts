import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Request, RequestHandler, Response } from 'express';
import { createProxyMiddleware, type Plugin } from 'http-proxy-middleware';
import type { Config } from '../config/config.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { bodyWasTooLarge, countStreamedBody } from './body-limit.js';
import { sendError } from './error-handler.js';
import { upstreamTarget } from '../request/canonical-request.js';
import { classifiedRequest, requestState } from './locals.js';
import { LOGGED_ERROR_BODY_CHARS, orthancErrorAnswer } from './orthanc-errors.js';
import { answerStudyNotFound } from './refusal.js';
import { isCloseDelimited, multipartBoundary, multipartEndCheck } from './multipart-guard.js';
import { relayDropBoxAnswer } from './drop-box-answer.js';
import { relayStream } from './relay-stream.js';
import { createSearchFilterStream } from './search-filter.js';
import { createUnpooledUpstreamAgent } from './upstream-agent.js';
import { createUpstreamLimit } from './upstream-limit.js';
import { clientResponseHeaders, prepareUpstreamRequest } from './proxy-headers.js';
import { describeProxyErrorPage, describeUpstreamError, isProxyErrorPage, readErrorPage } from './upstream-errors.js';
import { createUpstreamIdentity } from './upstream-identity.js';
import { isStaleConnectionFailure } from './upstream-retry.js';
import { createUrlRewriteStream, isRewritableContentType, rewriteLocation, type UrlRewrite } from './url-rewrite.js';

export interface ProxyOptions {
  publicUrl: string;
  orthanc: Config['orthanc'];
  /** Connection pool to Orthanc (see upstream-agent.ts). */
  agent: Agent;
  logger: Logger;
}

interface RelayContext {
  publicUrl: string;
  publicOrigin: string;
  rewrite: UrlRewrite;
  logger: Logger;
}

const isJson = (contentType: string | undefined) => contentType !== undefined && /^application\/(dicom\+)?json\b/i.test(contentType);

/** How http-proxy sends a request to Orthanc (the first attempt through http-proxy-middleware, a retry directly). */
type UpstreamOptions = { target: string; agent: Agent; changeOrigin: true; xfwd: false; selfHandleResponse: true };

const timedOut = new WeakSet<IncomingMessage>();
/** The request's current request to Orthanc, whether Orthanc answered it, and whether it is a retry. */
const upstreamRequests = new WeakMap<IncomingMessage, ClientRequest>();
const answered = new WeakSet<IncomingMessage>();
const retried = new WeakSet<IncomingMessage>();
/** Requests whose client went away before the response was complete (their upstream request is cancelled). */
const clientGone = new WeakSet<IncomingMessage>();
/** Which Orthanc credential a request was sent with (its label, for the 401 message). */
const credentialUsed = new WeakMap<IncomingMessage, string>();

function upstreamFailure(error: NodeJS.ErrnoException, req: IncomingMessage): GatewayError {
  if (bodyWasTooLarge(req)) return new GatewayError('payload_too_large', 'The upload exceeds STOW_MAX_BYTES', { connection: 'close' });
  if (timedOut.has(req)) return new GatewayError('gateway_timeout', 'Orthanc did not answer in time');
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
function relayResponse(proxyRes: IncomingMessage, req: Request, res: Response, context: RelayContext): void {
  const refusal = refusedByOrthanc(proxyRes.statusCode, credentialUsed.get(req) ?? 'service credential');
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
  const transforms = [...(filter && req.method !== 'HEAD' ? [createSearchFilterStream(filter)] : []), ...(bodyRewritten ? [createUrlRewriteStream(context.rewrite)] : [])];
  const endCheck = boundary && !bodyRewritten ? multipartEndCheck(boundary) : undefined;
  relayStream(
    proxyRes,
    res,
    transforms,
    (error) => {
      context.logger.warn({ err: error, requestId }, 'upstream response stream failed');
    },
    endCheck,
  );
}

/** Answers an Orthanc error with the gateway's own error; Orthanc's body goes to the log only (truncated). */
function replaceOrthancError(proxyRes: IncomingMessage, req: Request, res: Response, logger: Logger): void {
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

function gatewayPlugin({ publicUrl, orthanc, logger }: ProxyOptions, retryOptions: UpstreamOptions): Plugin<Request, Response> {
  const base = new URL(publicUrl);
  const forwarded = `host=${base.host};proto=${base.protocol.replace(':', '')}`;
  // Basic header values for the service user and every per-role user are computed here, once.
  const resolveIdentity = createUpstreamIdentity(orthanc);
  const context: RelayContext = {
    publicUrl,
    publicOrigin: base.origin,
    rewrite: { from: `${base.origin}/dicom-web/`, to: `${publicUrl}/pacs/dicom-web/` },
    logger,
  };

  return (proxyServer) => {
    proxyServer.on('proxyReq', (proxyReq: ClientRequest, req: Request, res: Response) => {
      // Headers already flushed (a request the pool queued): never send the client's own headers on.
      if (proxyReq.headersSent) return void proxyReq.destroy(new Error('the upstream request was queued past its header preparation'));
      const { credential, headers } = resolveIdentity(requestState(res).principal);
      credentialUsed.set(req, credential.label);
      upstreamRequests.set(req, proxyReq);
      prepareUpstreamRequest(proxyReq, { authorization: credential.authorization, forwarded, identityHeaders: headers });
      // A filtered search is read by the gateway: ask for the one format it reads.
      if (requestState(res).searchFilter || isDropBoxUpload(res)) proxyReq.setHeader('accept', 'application/dicom+json');
      proxyReq.setTimeout(orthanc.timeoutMs, () => {
        timedOut.add(req);
        proxyReq.destroy(new Error('upstream timeout'));
      });
      countStreamedBody(req, proxyReq, requestState(res).streamedBodyLimit);
      // The client gave up (a viewer scrolled past a frame): cancel the request to Orthanc too, which
      // frees its connection at once. http-proxy alone only does that while the request body is still
      // arriving; for a GET it would wait for Orthanc's answer (or ORTHANC_TIMEOUT_MS) into a closed socket.
      res.once('close', () => {
        if (res.writableFinished || proxyReq.destroyed) return;
        clientGone.add(req);
        proxyReq.destroy();
      });
    });
    proxyServer.on('proxyRes', (proxyRes: IncomingMessage, req: Request, res: Response) => {
      answered.add(req);
      relayResponse(proxyRes, req, res, context);
    });
    // See upstream-retry.ts: a request that met a connection Orthanc was closing goes once more, on a new one.
    const retryOnNewConnection = (error: NodeJS.ErrnoException, req: Request, res: Response): boolean => {
      if (retried.has(req) || answered.has(req) || timedOut.has(req) || res.headersSent) return false;
      if (!isStaleConnectionFailure(error, req, upstreamRequests.get(req))) return false;
      retried.add(req);
      logger.info({ requestId: requestState(res).requestId, code: error.code }, 'Orthanc closed a reused connection before answering: retrying on a new connection');
      proxyServer.web(req, res, retryOptions);
      return true;
    };
    proxyServer.on('error', (error: Error, req: Request, res: Response | Socket) => {
      if (!('writeHead' in res)) return res.destroy();
      if (clientGone.has(req)) return; // cancelled above: nobody to answer, nothing went wrong upstream
      if (retryOnNewConnection(error, req, res)) return;
      const failure = upstreamFailure(error as NodeJS.ErrnoException, req);
      requestState(res).upstreamError = failure.code === 'gateway_timeout' ? 'timeout' : 'unreachable';
      logger.warn({ err: error, requestId: requestState(res).requestId, hint: describeUpstreamError(error).hint }, failure.message);
      sendError(res, failure);
    });
    // The client went away mid-request: http-proxy aborts the upstream request, nothing to answer.
    proxyServer.on('econnreset', () => undefined);
  };
}

/**
 * Last stage: forwards an authorized request to Orthanc with the service credential (or the
 * caller's per-role Orthanc user) and optional identity headers, streaming both ways.
 */
export function proxyToOrthanc(options: ProxyOptions): RequestHandler {
  const upstream: UpstreamOptions = { target: options.orthanc.url, agent: options.agent, changeOrigin: true, xfwd: false, selfHandleResponse: true };
  const retryOptions = { ...upstream, agent: createUnpooledUpstreamAgent(options.orthanc) };
  const middleware = createProxyMiddleware<Request, Response>({
    ...upstream,
    ejectPlugins: true,
    plugins: [gatewayPlugin(options, retryOptions)],
    // Never the client's URL: the canonical request, serialized (canonical-request.ts).
    pathRewrite: (_path, req) => {
      const state = requestState(req.res!);
      return upstreamTarget(state.route!, classifiedRequest(state));
    },
  });
  const limit = createUpstreamLimit(options.orthanc.maxConnections, options.orthanc.timeoutMs);
  return (req, res, next) => {
    const state = requestState(res);
    if (!state.route) throw new Error('No route: the request was not classified');
    classifiedRequest(state); // fails closed here, before anything is sent, rather than inside the proxy
    limit(req, res, () => void middleware(req, res, next));
  };
}
