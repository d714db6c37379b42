import { pieces } from "./ledger-service.js";

/**
 * Draws `items` a piece of `size` at a time (`draw` renders one piece's HTML), awaiting `between`
 * before each piece: a page of ledger rows (their flags, answers and buttons, ~100 KB of HTML) is
 * then drawn in several short tasks on the event loop that serves respondents, not in one long
 * one. The pieces' HTML is concatenated in order, so the page is the same whatever the size.
 */
export async function drawInPieces<T>(items: readonly T[], size: number, draw: (piece: T[]) => Promise<string>, between: () => Promise<void>): Promise<string> {
  let html = "";
  for (const piece of pieces(items, size)) {
    await between();
    html += await draw(piece);
  }
  return html;
}
