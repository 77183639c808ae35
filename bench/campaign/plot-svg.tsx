/**
 * A campaign plot (bench/campaign/plots.ts) as a standalone SVG file, drawn by the app's own
 * chart component (renderer/src/charts/Chart.tsx) with the app's stylesheet inlined.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderToStaticMarkup } from 'react-dom/server';
import { Chart } from '../../renderer/src/charts/Chart.tsx';
import { ACCURACY_AXES, type CampaignPlot } from './plots.ts';

const css = readFileSync(
  join(import.meta.dirname, '..', '..', 'renderer', 'src', 'app.css'),
  'utf8',
);

export function plotSvg(plot: CampaignPlot): string {
  const axes = plot.axes ?? ACCURACY_AXES;
  const markup = renderToStaticMarkup(
    <Chart
      series={plot.series}
      xLabel={axes.xLabel}
      yLabel={axes.yLabel}
      xLog={axes.xLog}
      xReverse={axes.xReverse}
      format={(y) => `${(y * 100).toFixed(1)}%`}
      caption={plot.caption}
    />,
  );
  // the chart's <svg> alone: the page wraps it in a sizing box that a standalone file has not
  const svg = markup
    .slice(markup.indexOf('<svg'), markup.lastIndexOf('</svg>') + '</svg>'.length)
    .replace(/^<svg/, `<svg xmlns="http://www.w3.org/2000/svg" style="background:#fff"`);
  return svg.replace(/(<svg[^>]*>)/, `$1<style>${css}</style>`);
}
