import { describe, expect, it } from '@jest/globals';
import type { RequestLoadResult } from '../../../bench/lib/load.js';
import type { Usage } from '../../../bench/lib/procstat.js';
import { combineRounds, sumUsage, type RoundResult } from '../../../bench/lib/rounds.js';

const load = (requests: number, reqPerSec: number, p50Ms: number, extra: Partial<RequestLoadResult> = {}): RequestLoadResult => ({
  connections: 8,
  seconds: 3,
  requests,
  reqPerSec,
  p50Ms,
  p90Ms: p50Ms * 2,
  p99Ms: p50Ms * 4,
  mbPerSec: reqPerSec / 100,
  non2xx: 0,
  errors: 0,
  timeouts: 0,
  statusCodes: { 200: requests },
  ...extra,
});
const usage = (cpuSeconds: number, peakRssMb: number, startRssMb = 100): Usage => ({ cpuSeconds, systemSeconds: cpuSeconds / 4, minorFaults: 10, peakRssMb, startRssMb });
const round = (l: RequestLoadResult, u: Usage | undefined, foreignCpuShare = 0): RoundResult => ({ load: l, usage: u, upstreamCpuSeconds: 1, clientCpuSeconds: 0.5, foreignCpuShare });

describe('combineRounds', () => {
  const rounds = [round(load(1000, 333, 2), usage(0.3, 120, 100)), round(load(3000, 1000, 9), usage(0.6, 150, 110), 0.3), round(load(2000, 667, 3), usage(0.6, 130, 115))];
  const combined = combineRounds(rounds);

  it.each([
    { field: 'requests (summed)', actual: combined.load.requests, expected: 6000 },
    { field: 'req/s (median of the rounds)', actual: combined.load.reqPerSec, expected: 667 },
    { field: 'p50 (median: the slow round moves it least)', actual: combined.load.p50Ms, expected: 3 },
    { field: 'p99 (median)', actual: combined.load.p99Ms, expected: 12 },
    { field: 'CPU per request (total CPU over total requests), ms', actual: combined.cpuMsPerRequest, expected: 0.25 },
    { field: 'peak RSS (the largest)', actual: combined.usage?.peakRssMb, expected: 150 },
    { field: 'start RSS (the first round\'s)', actual: combined.usage?.startRssMb, expected: 100 },
    { field: 'page faults (summed)', actual: combined.usage?.minorFaults, expected: 30 },
    { field: 'other load (the mean)', actual: combined.foreignCpuShare, expected: 0.1 },
    { field: 'upstream CPU (summed)', actual: combined.upstreamCpuSeconds, expected: 3 },
  ])('$field', ({ actual, expected }) => {
    expect(actual).toBeCloseTo(expected, 6);
  });

  it('keeps every round for the spread', () => {
    expect(combined.rounds.map((r) => [r.reqPerSec, r.p50Ms, r.cpuMsPerRequest])).toEqual([
      [333, 2, 0.3],
      [1000, 9, 0.2],
      [667, 3, 0.3],
    ]);
  });

  it('adds up failures and status codes across rounds', () => {
    const failing = combineRounds([round(load(10, 10, 1, { non2xx: 2, statusCodes: { 200: 10, 502: 2 } }), undefined), round(load(5, 5, 1, { errors: 1, statusCodes: { 200: 5 } }), undefined)]);
    expect([failing.load.non2xx, failing.load.errors, failing.load.statusCodes]).toEqual([2, 1, { 200: 15, 502: 2 }]);
    expect(failing.usage).toBeUndefined();
    expect(failing.cpuMsPerRequest).toBeUndefined();
  });

  it('refuses an empty list', () => {
    expect(() => combineRounds([])).toThrow('no rounds');
  });
});

describe('sumUsage', () => {
  it('sums CPU and faults over the intervals, keeps the largest peak and the first start', () => {
    expect(sumUsage([usage(0.25, 120, 100), usage(0.5, 180, 150), usage(0.25, 140, 120)])).toEqual({ cpuSeconds: 1, systemSeconds: 0.25, minorFaults: 30, peakRssMb: 180, startRssMb: 100 });
  });
});
