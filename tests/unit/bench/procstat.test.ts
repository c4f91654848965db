import { describe, expect, it } from '@jest/globals';
import { threadCpuSeconds } from '../../../bench/lib/procstat.js';

describe('threadCpuSeconds (bench/lib/procstat.ts, Linux /proc)', () => {
  it('splits CPU by thread class and counts context switches and page faults, in thousands', () => {
    const split = threadCpuSeconds(process.pid);
    for (const key of ['main user', 'main system', 'main sleeps', 'main preempted', 'helpers user', 'helpers sleeps', 'faults']) {
      expect([key, Number.isFinite(split.get(key)) && split.get(key)! >= 0]).toEqual([key, true]);
    }
    expect(split.get('main user')! + split.get('main system')!).toBeGreaterThan(0);
  });

  it('counts each sleep of the main thread as a voluntary context switch', () => {
    // Atomics.wait blocks the thread in the kernel for the whole timeout, however late it gets there: a 5 ms
    // timer on a busy machine can be due before the event loop waits, and then nothing sleeps.
    const blocker = new Int32Array(new SharedArrayBuffer(4));
    const before = threadCpuSeconds(process.pid).get('main sleeps')!;
    for (let i = 0; i < 5; i++) Atomics.wait(blocker, 0, 0, 20);
    const slept = Math.round((threadCpuSeconds(process.pid).get('main sleeps')! - before) * 1000);
    expect(slept).toBeGreaterThanOrEqual(5);
  });

  it('counts the CPU the main thread burns', () => {
    const before = threadCpuSeconds(process.pid);
    const start = process.cpuUsage();
    const spent = () => process.cpuUsage(start);
    while (spent().user + spent().system < 60_000) Math.sqrt(Math.random()); // 60 ms of CPU, however long the machine makes it take
    const after = threadCpuSeconds(process.pid);
    const used = after.get('main user')! + after.get('main system')! - before.get('main user')! - before.get('main system')!;
    expect(used).toBeGreaterThanOrEqual(0.03);
  });
});
