import { describe, expect, it } from '@jest/globals';
import { pairedMedianDifference, shuffledOrder } from '../../../bench/lib/interleaved-latency.js';

describe('pairedMedianDifference', () => {
  it.each([
    { name: 'the median of the turn-by-turn differences', target: [3, 5, 10], reference: [2, 4, 1], expected: 1 },
    { name: 'an even count averages the two middle differences', target: [3, 6, 10, 4], reference: [2, 4, 1, 4], expected: 1.5 },
    { name: 'a turn where either side failed is left out', target: [3, undefined, 10], reference: [2, 4, undefined], expected: 1 },
    { name: 'a slower state of the machine in one turn moves both sides, not the difference', target: [2.6, 9.6, 2.7], reference: [2.0, 9.0, 2.1], expected: 0.6 },
    { name: 'negative when the target answered sooner', target: [1, 2], reference: [2, 3], expected: -1 },
  ])('$name', ({ target, reference, expected }) => {
    expect(pairedMedianDifference(target, reference)).toBeCloseTo(expected, 10);
  });

  it('is undefined when no turn has both', () => {
    expect(pairedMedianDifference([1, undefined], [undefined, 2])).toBeUndefined();
    expect(pairedMedianDifference([], [])).toBeUndefined();
  });
});

describe('shuffledOrder', () => {
  it('is a permutation of the targets', () => {
    for (let turn = 0; turn < 50; turn++) expect([...shuffledOrder(5)].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('puts every target in every position and after every other target (no fixed cyclic order)', () => {
    const positions = Array.from({ length: 4 }, () => new Set<number>());
    const pairs = new Set<string>();
    for (let turn = 0; turn < 400; turn++) {
      const order = shuffledOrder(4);
      order.forEach((target, position) => positions[target]!.add(position));
      for (let position = 1; position < order.length; position++) pairs.add(`${order[position - 1]}>${order[position]}`);
    }
    expect(positions.map((seen) => seen.size)).toEqual([4, 4, 4, 4]);
    expect(pairs.size).toBe(12);
  });

  it('follows the random source it is given (Fisher–Yates)', () => {
    expect(shuffledOrder(3, () => 0)).toEqual([1, 2, 0]);
    expect(shuffledOrder(3, () => 0.999)).toEqual([0, 1, 2]);
  });
});
