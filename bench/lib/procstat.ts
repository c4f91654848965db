import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * CPU time and memory of the processes under test, read from /proc (Linux): a target is a process
 * and its children (node:cluster workers, nginx workers), counted together.
 */

const CLOCK_TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

/** utime + stime of one process in seconds; 0 when it is gone. */
function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND; // fields 14 and 15 of stat
  } catch {
    return 0;
  }
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

  private rssKb(): number {
    return this.pids.reduce((sum, pid) => sum + statusKb(pid, 'VmRSS'), 0);
  }

  stop(): Usage {
    clearInterval(this.timer);
    const hwmKb = this.pids.reduce((sum, pid) => sum + statusKb(pid, 'VmHWM'), 0);
    return {
      cpuSeconds: round(this.cpuSeconds() - this.cpuStart, 2),
      peakRssMb: round(Math.max(this.sampledPeakKb, hwmKb) / 1024, 1),
      startRssMb: round(this.startRssKb / 1024, 1),
    };
  }
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
