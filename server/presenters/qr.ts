import QRCode from "qrcode";
import { Lru } from "../lru.js";

/**
 * QR codes of survey links as inline SVG, kept per URL: the code a URL draws never changes, and
 * drawing one holds the event loop for a few milliseconds (~40 ms for a wave page's three under
 * the heavy benchmark's load). A code not kept yet is drawn in a task of its own, after a turn of
 * the event loop.
 */

const OPTIONS = { type: "svg", margin: 1, errorCorrectionLevel: "M" } as const;
const KEPT = 200;
const drawn = new Lru<string, string>(KEPT);

export async function linkQrSvg(url: string): Promise<string> {
  const kept = drawn.get(url);
  if (kept !== undefined) return kept;
  await new Promise<void>((resolve) => setImmediate(resolve));
  const svg = await QRCode.toString(url, OPTIONS);
  drawn.set(url, svg);
  return svg;
}
