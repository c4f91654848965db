/** Readiness: each dependency checked separately, so ops see which one is missing. */
export type ReadinessCheck = () => Promise<void>;

export interface ReadinessReport {
  status: 'ready' | 'not_ready';
  checks: Record<string, { ok: boolean; latencyMs: number; error?: string }>;
}

async function runCheck(check: ReadinessCheck) {
  const started = performance.now();
  try {
    await check();
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: (error as Error).message };
  }
}

export async function checkReadiness(checks: Record<string, ReadinessCheck>): Promise<ReadinessReport> {
  const entries = await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await runCheck(check)] as const));
  const results = Object.fromEntries(entries);
  return { status: entries.every(([, result]) => result.ok) ? 'ready' : 'not_ready', checks: results };
}
