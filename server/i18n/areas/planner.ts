/** Messages of the planner area, merged into the catalogues by ../index.ts (keys under "planner."). */
export const en = {};
export const ru = {};
