import { expect } from '@jest/globals';
import type { LogSink } from './session-stack.js';

export type LogLine = Record<string, unknown>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The audit events among a gateway's log lines ("log":"audit"). */
export const auditLines = (sink: LogSink) => sink.lines.filter((line) => line['log'] === 'audit');

/** The one audit event of a request (it is written when the response ends, so wait a moment for it). */
export async function auditEventOf(requestId: string, sink: LogSink): Promise<LogLine> {
  const matching = () => auditLines(sink).filter((line) => line['requestId'] === requestId);
  for (let waited = 0; matching().length === 0 && waited < 2000; waited += 20) await sleep(20);
  await sleep(30); // a second event would show up now
  expect(matching()).toHaveLength(1);
  return matching()[0]!;
}
