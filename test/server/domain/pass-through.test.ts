import { describe, expect, it } from "vitest";
import { fillRedirect, pickParams, signatureValid, signParams } from "../../../server/domain/pass-through.js";

describe("pickParams", () => {
  it("keeps rid, src, utm_* and per-link names, as strings only", () => {
    expect(
      pickParams(
        { rid: "1", src: "vk", utm_source: "tg", utm_Bad: "x", panel: "p", other: "o", rid2: ["a", "b"], constructor: "c" },
        ["panel"],
      ),
    ).toEqual({ rid: "1", src: "vk", utm_source: "tg", panel: "p" });
  });

  it("truncates long values", () => {
    expect(pickParams({ rid: "x".repeat(5000) }).rid).toHaveLength(500);
  });
});

describe("signatures", () => {
  const secret = "study-secret";
  it("accepts the HMAC of the sorted signed parameters and refuses any change", () => {
    const params = { rid: "42", panel: "7", utm_source: "vk" };
    const sig = signParams(secret, params, ["rid", "panel"]);
    expect(signatureValid(secret, { ...params, sig }, params, ["rid", "panel"])).toBe(true);
    expect(signatureValid(secret, { ...params, sig }, { ...params, rid: "43" }, ["rid", "panel"])).toBe(false);
    expect(signatureValid("other-secret", { ...params, sig }, params, ["rid", "panel"])).toBe(false);
    expect(signatureValid(secret, params, params, ["rid"])).toBe(false);
  });

  it("needs nothing when the link signs nothing or no signed parameter is present", () => {
    expect(signatureValid(secret, { rid: "1" }, { rid: "1" }, null)).toBe(true);
    expect(signatureValid(secret, { src: "x" }, { src: "x" }, ["rid"])).toBe(true);
  });
});

describe("fillRedirect", () => {
  it("URL-encodes {rid} and other parameters, and empties unknown ones", () => {
    expect(fillRedirect("https://p.example/c?id={rid}&s={src}&x={missing}", { rid: "a b&c/ж", src: "vk" })).toBe(
      "https://p.example/c?id=a%20b%26c%2F%D0%B6&s=vk&x=",
    );
  });
});

describe("canonical signed string", () => {
  it("encodes values so one parameter cannot pose as two", async () => {
    const { canonicalSigned } = await import("../../../server/domain/pass-through.js");
    expect(canonicalSigned({ rid: "1&src=2" }, ["rid", "src"])).toBe("rid=1%26src%3D2");
    expect(canonicalSigned({ rid: "1", src: "2" }, ["rid", "src"])).toBe("rid=1&src=2");
  });
});
