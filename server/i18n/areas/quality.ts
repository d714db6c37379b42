/** Messages of the quality area, merged into the catalogues by ../index.ts (keys under "quality."). */
export const en = {};
export const ru = {};
