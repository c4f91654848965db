import type { Response } from 'express';
import type { Principal } from '../auth/principal.js';
import type { Route } from '../policy/routes.js';

/** What the pipeline learns about a request, stage by stage (kept on res.locals). */
export interface RequestState {
  requestId: string;
  route?: Route;
  /** Upstream path + query to send to Orthanc, set once the route is classified. */
  upstreamTarget?: string;
  principal?: Principal | null;
}

export function requestState(res: Response): RequestState {
  return res.locals as RequestState;
}
