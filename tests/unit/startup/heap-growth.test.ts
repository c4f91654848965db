import { describe, expect, it } from '@jest/globals';
import { HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../../src/startup/heap-growth.js';

describe('the old generation growth flag set at start-up', () => {
  it.each<[string, string[], string | undefined, boolean]>([
    ['nothing chosen', [], undefined, true],
    ['other flags only', ['--enable-source-maps'], '--max-old-space-size=512', true],
    ['chosen on the command line', ['--heap-growing-percent=100'], undefined, false],
    ['chosen with underscores', ['--heap_growing_percent=50'], undefined, false],
    ['chosen in NODE_OPTIONS', [], '--enable-source-maps  --heap-growing-percent=120', false],
  ])('%s → set by the gateway: %s', (_name, execArgv, nodeOptions, set) => {
    expect(heapGrowthFlag(execArgv, nodeOptions)).toBe(set ? `--heap-growing-percent=${HEAP_GROWING_PERCENT}` : undefined);
  });
});
