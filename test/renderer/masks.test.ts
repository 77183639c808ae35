import { describe, expect, it } from 'vitest';
import {
  heatmapPixels,
  layerImage,
  layersCsv,
  overlapCsv,
  pixelMapImage,
  viridis,
  type TicketMasks,
} from '../../renderer/src/lib/masks.ts';

const ticket = {
  id: 'tkt_a',
  experimentId: 'exp_a',
  experimentName: 'LeNet, seed "0"',
  method: 'imp',
  level: 2,
  remainingWeights: 0.64,
  model: 'lenet-300-100',
  datasetName: 'MNIST',
  inputShape: [2, 3, 1] as [number, number, number],
};

describe('mask heat-maps in the renderer', () => {
  it('colours from viridis’s dark purple to its yellow, clamping outside 0–1', () => {
    expect(viridis(0)).toEqual([68, 1, 84]);
    expect(viridis(1)).toEqual([253, 231, 37]);
    expect(viridis(-3)).toEqual(viridis(0));
    expect(viridis(7)).toEqual(viridis(1));
    const px = heatmapPixels({ rows: 1, cols: 2, values: [5, 9], lo: 5, hi: 9 });
    expect([...px]).toEqual([68, 1, 84, 255, 253, 231, 37, 255]);
  });

  it('draws conv layers as filters × channels, dense layers as a strip of units', () => {
    const conv = layerImage({
      layer: 'conv1.kernel',
      kind: 'conv2d',
      shape: [3, 3, 2, 4],
      kept: 0,
      total: 72,
      rows: 4,
      cols: 2,
      cellTotal: 9,
      cells: [9, 0, 0, 9, 3, 3, 0, 0],
    });
    expect(conv).toMatchObject({ rows: 4, cols: 2, lo: 0, hi: 1 });
    expect(conv.values).toEqual([1, 0, 0, 1, 1 / 3, 1 / 3, 0, 0]);
    const dense = layerImage({
      layer: 'fc1.kernel',
      kind: 'dense',
      shape: [6, 3],
      kept: 9,
      total: 18,
      rows: 3,
      cols: 1,
      cellTotal: 6,
      cells: [6, 3, 0],
    });
    expect(dense).toMatchObject({ rows: 1, cols: 3, values: [1, 0.5, 0] });
  });

  it('scales the pixel map to its own range and writes the numbers as CSV', () => {
    const masks: TicketMasks = {
      ticket,
      layers: [],
      inputMap: {
        layer: 'fc1.kernel',
        height: 2,
        width: 3,
        channels: 1,
        perPixel: 300,
        kept: [10, 20, 30, 40, 50, 60],
      },
      overlap: {
        against: { ...ticket, id: 'tkt_b' },
        layers: [
          { layer: 'fc1.kernel', total: 10, both: 2, onlyHere: 1, onlyThere: 3, jaccard: 1 / 3 },
        ],
        whole: {
          layer: 'all prunable layers',
          total: 10,
          both: 0,
          onlyHere: 0,
          onlyThere: 0,
          jaccard: null,
        },
      },
    };
    expect(pixelMapImage(masks.inputMap!)).toMatchObject({ rows: 2, cols: 3, lo: 10, hi: 60 });
    expect(overlapCsv(masks).split('\n')).toEqual([
      'ticket,against,layer,total,both,only_here,only_there,jaccard',
      `tkt_a,tkt_b,fc1.kernel,10,2,1,3,${1 / 3}`,
      'tkt_a,tkt_b,all prunable layers,10,0,0,0,',
      '',
    ]);
    const csv = layersCsv('tkt_a', [
      {
        layer: 'conv1.kernel',
        kind: 'conv2d',
        shape: [1, 1, 2, 2],
        kept: 3,
        total: 4,
        rows: 2,
        cols: 2,
        cellTotal: 1,
        cells: [1, 0, 1, 1],
      },
    ]);
    expect(csv.split('\n').slice(1, 3)).toEqual([
      'tkt_a,conv1.kernel,0,0,1,1',
      'tkt_a,conv1.kernel,0,1,0,1',
    ]);
  });
});
