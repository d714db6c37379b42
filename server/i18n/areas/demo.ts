/** Messages of the demo area, merged into the catalogues by ../index.ts (keys under "demo."). */
export const en = {};
export const ru = {};
