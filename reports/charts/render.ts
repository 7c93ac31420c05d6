import * as echarts from 'echarts';
import type { EChartsOption } from 'echarts';

export interface RenderSize {
  readonly width: number;
  readonly height: number;
}

/**
 * Renders an option to a standalone SVG string with ECharts' server-side renderer (no DOM, no
 * browser): what a notebook cell or a static image needs. Animation is off, so the SVG shows the
 * final frame.
 */
export function renderSvg(option: EChartsOption, size: RenderSize = { width: 800, height: 400 }): string {
  if (!(size.width > 0 && size.height > 0)) throw new RangeError(`renderSvg: width and height must be positive, got ${size.width}×${size.height}`);
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: size.width, height: size.height });
  try {
    chart.setOption({ ...option, animation: false });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}
