import { describe, it } from '@jest/globals';
import { memorySlots } from '../../../src/authorize/user-concurrency.js';
import { playSlotScenario, SLOT_SCENARIOS } from '../../support/slot-scenarios.js';

describe('memorySlots (maximum 2 per key)', () => {
  it.each(SLOT_SCENARIOS)('%s', async (_name, steps) => {
    await playSlotScenario(memorySlots(2), steps);
  });
});
