import type { Page } from "playwright-core";

/** Layout checks shared by the browser tests of the results pages (text size, clipping, horizontal scroll). */

/** Every visible chart's text: outside its viewBox, and the smallest rendered size in px. */
export async function chartText(page: Page) {
  return page.evaluate(() => {
    const clipped: string[] = [];
    let smallest = Infinity;
    let texts = 0;
    for (const svg of Array.from(document.querySelectorAll("figure.chart svg, .audience-growth svg")) as SVGSVGElement[]) {
      const shown = svg.getBoundingClientRect();
      if (shown.width === 0) continue;
      const vb = svg.viewBox.baseVal;
      const scale = shown.width / vb.width;
      for (const text of Array.from(svg.querySelectorAll("text")) as SVGTextElement[]) {
        texts++;
        const box = text.getBBox();
        const size = parseFloat(getComputedStyle(text).fontSize) * scale;
        smallest = Math.min(smallest, size);
        const tolerance = 0.5;
        if (box.x < vb.x - tolerance || box.y < vb.y - tolerance || box.x + box.width > vb.x + vb.width + tolerance || box.y + box.height > vb.y + vb.height + tolerance) {
          clipped.push(`${text.textContent} (${Math.round(box.x)},${Math.round(box.y)} ${Math.round(box.width)}×${Math.round(box.height)} in ${vb.width}×${vb.height})`);
        }
      }
    }
    return { clipped, smallest, texts };
  });
}

/** Elements reaching past the right edge of the viewport (horizontal scrolling). */
export async function overflowing(page: Page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    return Array.from(document.querySelectorAll("body *"))
      .filter((e) => e.getBoundingClientRect().right > width + 1 && !e.closest(".table-wrap"))
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
  });
}
