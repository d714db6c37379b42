import { describe, expect, it } from "vitest";
import { applyOrder, rotatedOrder } from "../../../server/domain/rotation.js";

const opts = ["a", "b", "c", "d", "e", "f"].map((key) => ({ key, pinned: false }));
const withPinned = [...opts.slice(0, 3), { key: "other", pinned: true }, ...opts.slice(3), { key: "none", pinned: true }];

describe("rotatedOrder", () => {
  it("is a permutation, the same for the same seed and question", () => {
    const order = rotatedOrder(opts, "seed-1", "aided");
    expect([...order].sort()).toEqual(["a", "b", "c", "d", "e", "f"]);
    expect(rotatedOrder(opts, "seed-1", "aided")).toEqual(order);
  });

  it("differs between seeds and between questions", () => {
    const orders = new Set(Array.from({ length: 50 }, (_, i) => rotatedOrder(opts, `s${i}`, "q").join("")));
    expect(orders.size).toBeGreaterThan(30);
    const perQuestion = new Set(Array.from({ length: 20 }, (_, i) => rotatedOrder(opts, "s", `q${i}`).join("")));
    expect(perQuestion.size).toBeGreaterThan(10);
  });

  it("keeps pinned options at their own positions", () => {
    for (let i = 0; i < 30; i++) {
      const order = rotatedOrder(withPinned, `seed${i}`, "q");
      expect(order[3]).toBe("other");
      expect(order[7]).toBe("none");
    }
  });

  it("puts each option first about equally often", () => {
    const firsts = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const first = rotatedOrder(opts, `s${i}`, "q")[0]!;
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    // Expected 1000 each; ±20% is far outside chance for a fair shuffle (sd ≈ 29).
    for (const key of ["a", "b", "c", "d", "e", "f"]) {
      expect(firsts.get(key)).toBeGreaterThan(800);
      expect(firsts.get(key)).toBeLessThan(1200);
    }
  });
});

describe("applyOrder", () => {
  it("orders options by a stored order and keeps unknown ones after it", () => {
    const list = [{ key: "x" }, { key: "y" }, { key: "z" }, { key: "new" }];
    expect(applyOrder(list, ["z", "x", "y"]).map((o) => o.key)).toEqual(["z", "x", "y", "new"]);
    expect(applyOrder(list, undefined).map((o) => o.key)).toEqual(["x", "y", "z", "new"]);
  });
});
