import { describe, expect, it } from 'vitest';
import { barChartSvg, niceCeiling } from '../../bench/charts';
import { capacity, flopsPerClip, GPUS, STABLE_AUDIO_OPEN_LIKE } from '../../bench/capacity';
import { percentile, summarize } from '../../bench/stats';

describe('bench statistics', () => {
  it('takes percentiles by nearest rank, so each is a value that was measured', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
  });

  it('summarises a sample', () => {
    const s = summarize([1, 2, 3, 4]);
    expect(s).toMatchObject({ n: 4, mean: 2.5, p50: 2, max: 4 });
  });
});

describe('bench charts', () => {
  it('rounds the axis up to 1, 2, 2.5 or 5 × 10^k', () => {
    expect(niceCeiling(0.7)).toBe(1);
    expect(niceCeiling(13)).toBe(20);
    expect(niceCeiling(220)).toBe(250);
    expect(niceCeiling(4100)).toBe(5000);
  });

  it('draws one bar per measured value, skips unmeasured ones and escapes labels', () => {
    const svg = barChartSvg({
      title: 'a < b & c',
      yLabel: 'ms',
      groups: ['batch 1', 'batch 2'],
      series: [
        { name: 'one', values: [10, 20] },
        { name: 'two', values: [5, undefined] },
      ],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('a &lt; b &amp; c');
    // three bars plus three legend swatches plus the background
    expect(svg.match(/<rect /g)?.length).toBe(3 + 2 + 1);
  });
});

describe('GPU capacity model', () => {
  it('is the FLOP count over peak × utilisation', () => {
    const perClip = flopsPerClip(STABLE_AUDIO_OPEN_LIKE);
    // 2 · 1.1e9 · 215 per row, ×2 rows, ×100 steps is the dense part; attention adds a few per cent
    expect(perClip).toBeGreaterThan(2 * 1.1e9 * 215 * 2 * 100);
    expect(perClip).toBeLessThan(1.1 * 2 * 1.1e9 * 215 * 2 * 100);
    for (const gpu of GPUS) {
      const row = capacity(STABLE_AUDIO_OPEN_LIKE, gpu);
      expect(row.secondsPerClip).toBeCloseTo(perClip / (gpu.peakTflops * 1e12 * gpu.utilisation), 9);
      expect(row.clipsPerHour * row.secondsPerClip).toBeCloseTo(3600, 6);
    }
  });
});
