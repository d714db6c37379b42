/** Messages of the exports area, merged into the catalogues by ../index.ts (keys under "exports."). */
export const en = {};
export const ru = {};
