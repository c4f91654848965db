import { expect } from '@jest/globals';
import type { ConcurrencySlots, Release } from '../../src/authorize/user-concurrency.js';

/** `take <key>` expects a slot (`ok`) or a refusal (`full`); `give <n>` calls the release of the n-th take (from 0). */
export type SlotStep = ['take', string, 'ok' | 'full'] | ['give', number];

/** Scenarios every ConcurrencySlots store must pass with a maximum of 2 slots per key. */
export const SLOT_SCENARIOS: Array<[string, SlotStep[]]> = [
  ['two slots, the third take is refused', [['take', 'alice', 'ok'], ['take', 'alice', 'ok'], ['take', 'alice', 'full']]],
  ['keys are counted apart', [['take', 'alice', 'ok'], ['take', 'alice', 'ok'], ['take', 'bob', 'ok'], ['take', 'share:abc', 'ok']]],
  ['a given-back slot can be taken again', [['take', 'alice', 'ok'], ['take', 'alice', 'ok'], ['give', 0], ['take', 'alice', 'ok'], ['take', 'alice', 'full']]],
  ['a refused take holds no slot', [['take', 'alice', 'ok'], ['take', 'alice', 'ok'], ['take', 'alice', 'full'], ['take', 'alice', 'full'], ['give', 1], ['take', 'alice', 'ok']]],
  ['giving back twice frees one slot only', [['take', 'alice', 'ok'], ['take', 'alice', 'ok'], ['give', 0], ['give', 0], ['take', 'alice', 'ok'], ['take', 'alice', 'full']]],
  ['every slot given back: the key starts over', [['take', 'alice', 'ok'], ['take', 'alice', 'ok'], ['give', 0], ['give', 1], ['take', 'alice', 'ok'], ['take', 'alice', 'ok'], ['take', 'alice', 'full']]],
];

/** Plays `steps` against `slots`, keys prefixed with `keyPrefix` (a fresh one per scenario when the store outlives it). */
export async function playSlotScenario(slots: ConcurrencySlots, steps: SlotStep[], keyPrefix = ''): Promise<void> {
  const releases: Array<Release | undefined> = [];
  for (const step of steps) {
    if (step[0] === 'give') {
      await releases[step[1]]!();
      continue;
    }
    const release = await slots.acquire(keyPrefix + step[1]);
    releases.push(release);
    expect([step[1], release ? 'ok' : 'full']).toEqual([step[1], step[2]]);
  }
}
