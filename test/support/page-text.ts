/** Reading server-rendered HTML in tests as a reader would. */

/** The five entities EJS's escaping writes, read back. */
export const unescapeHtml = (s: string) => s.replace(/&#34;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

/** What a reader sees: tags dropped, entities read, spaces collapsed. */
export const readerText = (html: string) => unescapeHtml(html.replace(/<[^>]*>/g, " ")).replace(/\s+/g, " ").trim();

/** The text of the first `<td>` of a row whose class list starts with `cls` (a regular expression). */
export const cellText = (row: string, cls: string) => readerText(new RegExp(`<td[^>]*class="${cls}[" ][^>]*>([\\s\\S]*?)</td>`).exec(row)?.[1] ?? "");
