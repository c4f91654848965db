import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * CPU time and memory of the processes under test, read from /proc (Linux): a target is a process
 * and its children (node:cluster workers, nginx workers), counted together.
 */

const CLOCK_TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

/** utime and stime of one process in seconds, and its minor page faults; 0 when it is gone. */
function cpuTimesOf(pid: number): { user: number; system: number; minorFaults: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 10, 14 and 15 of stat
    return { user: Number(fields[11]) / CLOCK_TICKS_PER_SECOND, system: Number(fields[12]) / CLOCK_TICKS_PER_SECOND, minorFaults: Number(fields[7]) };
  } catch {
    return { user: 0, system: 0, minorFaults: 0 };
  }
}

/** utime + stime of one process in seconds; 0 when it is gone. */
function cpuSecondsOf(pid: number): number {
  const { user, system } = cpuTimesOf(pid);
  return user + system;
}

/**
 * CPU seconds of a process tree's threads (nginx's workers too), split into each process's main
 * thread (JavaScript, the event loop) and all others (V8's GC and compiler helpers, libuv's pool),
 * user and system time apart; plus, in thousands (so that "per request" reads as a count): minor page
 * faults (`faults`: freshly mapped memory touched) and each side's context switches, voluntary
 * (`sleeps`: the thread blocked, e.g. in epoll_wait with nothing to do, and was woken again) and
 * involuntary (`preempted`: the scheduler took the CPU away).
 */
export function threadCpuSeconds(rootPid: number): Map<string, number> {
  const split = new Map<string, number>();
  const add = (key: string, value: number) => split.set(key, (split.get(key) ?? 0) + value);
  for (const pid of processTree(rootPid)) {
    try {
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const thread = Number(task) === pid ? 'main' : 'helpers';
        add(`${thread} user`, Number(fields[11]) / CLOCK_TICKS_PER_SECOND);
        add(`${thread} system`, Number(fields[12]) / CLOCK_TICKS_PER_SECOND);
        add('faults', Number(fields[7]) / 1000);
        const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
        add(`${thread} sleeps`, Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1000);
        add(`${thread} preempted`, Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1000);
      }
    } catch {
      /* gone */
    }
  }
  return split;
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Direct children of a process (cluster workers, nginx workers). */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) children.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    /* gone */
  }
  return children;
}

/** The process and its descendants. */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let index = 0; index < all.length; index++) all.push(...childrenOf(all[index]!));
  return all;
}

export interface Usage {
  cpuSeconds: number;
  /** The part of cpuSeconds spent in the kernel (stime: system calls, the network stack). */
  systemSeconds: number;
  /** Minor page faults (memory mapped afresh, e.g. after malloc gave it back to the kernel). */
  minorFaults: number;
  /** Sum of the processes' peak RSS since the last reset, MB. */
  peakRssMb: number;
  /** Sum of the processes' RSS at the start, MB. */
  startRssMb: number;
}

/**
 * Measures one process tree over an interval: CPU seconds (utime + stime deltas) and peak RSS
 * (VmHWM after resetting it through /proc/<pid>/clear_refs, plus 50 ms sampling of VmRSS as a
 * fallback where the reset is not allowed).
 */
export class UsageMeter {
  private readonly pids: number[];
  private readonly cpuStart: number;
  private readonly systemStart: number;
  private readonly faultsStart: number;
  private readonly startRssKb: number;
  private sampledPeakKb = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(rootPid: number) {
    this.pids = processTree(rootPid);
    for (const pid of this.pids) {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
      } catch {
        /* not permitted: sampling below still sees the peak approximately */
      }
    }
    this.cpuStart = this.cpuSeconds();
    this.systemStart = this.systemSeconds();
    this.faultsStart = this.minorFaults();
    this.startRssKb = this.rssKb();
    this.sampledPeakKb = this.startRssKb;
    this.timer = setInterval(() => {
      this.sampledPeakKb = Math.max(this.sampledPeakKb, this.rssKb());
    }, 50);
    this.timer.unref();
  }

  private cpuSeconds(): number {
    return this.pids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
  }

  private systemSeconds(): number {
    return this.pids.reduce((sum, pid) => sum + cpuTimesOf(pid).system, 0);
  }

  private minorFaults(): number {
    return this.pids.reduce((sum, pid) => sum + cpuTimesOf(pid).minorFaults, 0);
  }

  private rssKb(): number {
    return this.pids.reduce((sum, pid) => sum + statusKb(pid, 'VmRSS'), 0);
  }

  stop(): Usage {
    clearInterval(this.timer);
    const hwmKb = this.pids.reduce((sum, pid) => sum + statusKb(pid, 'VmHWM'), 0);
    return {
      cpuSeconds: round(this.cpuSeconds() - this.cpuStart, 2),
      systemSeconds: round(this.systemSeconds() - this.systemStart, 2),
      minorFaults: this.minorFaults() - this.faultsStart,
      peakRssMb: round(Math.max(this.sampledPeakKb, hwmKb) / 1024, 1),
      startRssMb: round(this.startRssKb / 1024, 1),
    };
  }
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Busy and total CPU seconds of the whole machine since boot (/proc/stat, all CPUs). */
function machineCpu(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0) / CLOCK_TICKS_PER_SECOND;
  const idle = (fields[3]! + fields[4]!) / CLOCK_TICKS_PER_SECOND; // idle + iowait
  return { busy: total - idle, total };
}

/** CPU seconds of this process and everything it started (Orthanc, nginx, the gateways, Redis). */
function ownCpu(): number {
  return processTree(process.pid).reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
}

/**
 * CPU the rest of the machine used meanwhile (other work on a shared machine), as a share of its
 * capacity: 0 on a quiet machine; 0.5 means half of all cores were busy with something else.
 */
export class ForeignLoadMeter {
  private readonly machine = machineCpu();
  private readonly own = ownCpu();

  share(): number {
    const machine = machineCpu();
    const total = machine.total - this.machine.total;
    if (total <= 0) return 0;
    const foreign = machine.busy - this.machine.busy - (ownCpu() - this.own);
    return round(Math.max(0, foreign) / total, 3);
  }
}

/**
 * Waits until other work leaves the machine nearly idle (at most `maxShare` of its CPU over half a
 * second), for at most `timeoutMs`; returns the last share seen.
 */
export async function waitForQuiet(maxShare = 0.1, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const meter = new ForeignLoadMeter();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const share = meter.share();
    if (share <= maxShare || Date.now() >= deadline) return share;
  }
}
