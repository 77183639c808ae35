import { download } from './format.ts';

/** Serialises an SVG with the computed theme colours and the charts' CSS inlined. */
export function svgText(svg: SVGSVGElement): string {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const style = getComputedStyle(document.documentElement);
  const vars = [
    '--fg',
    '--bg',
    '--muted',
    '--grid',
    ...Array.from({ length: 8 }, (_, i) => `--series-${i}`),
  ];
  clone.setAttribute('style', vars.map((v) => `${v}:${style.getPropertyValue(v)}`).join(';'));
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  const css = Array.from(document.styleSheets)
    .flatMap((s) => Array.from(s.cssRules, (r) => r.cssText))
    .filter((t) => t.includes('.chart'));
  clone.insertAdjacentHTML('afterbegin', `<style>${css.join('\n')}</style>`);
  return new XMLSerializer().serializeToString(clone);
}

/** Saves the SVG as drawn, as `<name>.svg`. */
export function saveSvg(svg: SVGSVGElement, name: string) {
  download(`${name}.svg`, svgText(svg), 'image/svg+xml');
}

/** Saves the SVG rendered at twice its size on the theme's background, as `<name>.png`. */
export function savePng(svg: SVGSVGElement, name: string) {
  const img = new Image();
  const { width, height } = svg.viewBox.baseVal;
  img.onload = () => {
    const canvas = document.createElement('canvas');
    canvas.width = width * 2;
    canvas.height = height * 2;
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = getComputedStyle(document.documentElement).getPropertyValue('--bg');
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    canvas.toBlob((b) => b && download(`${name}.png`, b, 'image/png'));
  };
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText(svg))}`;
}
