import { describe, expect, it } from '@jest/globals';
import { latencySummary } from '../../../bench/lib/load.js';

describe('latencySummary', () => {
  it('takes nearest-rank percentiles of the sorted latencies', () => {
    const latencies = Array.from({ length: 100 }, (_, index) => 100 - index); // 100 … 1, unsorted
    expect(latencySummary(latencies)).toEqual({ p50Ms: 51, p90Ms: 91, p99Ms: 100 });
  });
});
