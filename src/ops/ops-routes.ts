// Exit, ops — enters: a health, readiness, metrics or audit query; leaves: the gateway's own JSON or text, never proxied.
import { Router } from 'express';
import { checkReadiness, type ReadinessCheck } from '../observability/readiness.js';

/** `/healthz` says the process serves requests; `/readyz` says whether its dependencies answer. */
export function opsRoutes(readinessChecks: Record<string, ReadinessCheck>): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const report = await checkReadiness(readinessChecks);
    res.status(report.status === 'ready' ? 200 : 503).json(report);
  });
  return router;
}
