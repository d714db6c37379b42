import QRCode from "qrcode";
import { afterEach, describe, expect, it, vi } from "vitest";
import { linkQrSvg } from "../../server/presenters/qr.js";

/**
 * Issue 16: a wave page's QR codes are kept per URL (drawing one held the event loop for
 * milliseconds, ~40 ms for three under load), and one not kept yet is drawn after a turn of the
 * event loop, in a task of its own.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

describe("QR codes of links", () => {
  it("are the SVG the qrcode library draws for the URL", async () => {
    const url = "https://brandlift.example/s/abcdefghijklmnopqrstuvwx";
    expect(await linkQrSvg(url)).toBe(await QRCode.toString(url, { type: "svg", margin: 1, errorCorrectionLevel: "M" }));
  });

  it("are drawn once per URL, each after a turn of the event loop", async () => {
    const log: string[] = [];
    vi.spyOn(QRCode, "toString").mockImplementation((async (url: string) => {
      log.push(`draw ${url}`);
      return `<svg>${url}</svg>`;
    }) as never);
    setImmediate(() => log.push("turn"));
    expect(await linkQrSvg("https://brandlift.example/s/one")).toBe("<svg>https://brandlift.example/s/one</svg>");
    expect(await linkQrSvg("https://brandlift.example/s/one")).toBe("<svg>https://brandlift.example/s/one</svg>");
    expect(await linkQrSvg("https://brandlift.example/s/two")).toBe("<svg>https://brandlift.example/s/two</svg>");
    expect(log).toEqual(["turn", "draw https://brandlift.example/s/one", "draw https://brandlift.example/s/two"]);
  });
});
