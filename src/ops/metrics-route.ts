import { Router } from 'express';
import type { GatewayMetrics } from '../observability/metrics.js';

/**
 * `GET /metrics`: Prometheus text format, without authentication like /healthz and /readyz. It
 * holds no patient data, user names, paths or UIDs (labels come from fixed sets); still, do not
 * route it from the internet (see README, "Observability").
 */
export function metricsRoute(metrics: GatewayMetrics): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.set('content-type', metrics.registry.contentType).set('cache-control', 'no-store').send(body);
  });
  return router;
}
