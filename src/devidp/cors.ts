/** CORS for the dev IdP's own endpoints (userinfo, JWT revocation): the realm clients' web origins. */
import type { Request, Response } from 'express';
import type { DevRealm } from './realm.js';

/** Sets `Access-Control-Allow-Origin` when the request's Origin is a web origin of some client; returns whether it did. */
export function allowWebOrigin(realm: DevRealm, req: Request, res: Response): boolean {
  const origin = req.get('origin');
  res.vary('Origin');
  if (!origin || !realm.clients.some((c) => c.webOrigins.includes(origin))) return false;
  res.set('access-control-allow-origin', origin);
  return true;
}
