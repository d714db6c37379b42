import { describe, expect, it } from "vitest";
import { checkSignature, fillRedirect, pickParams, signParams } from "../../../server/domain/pass-through.js";

/** The signature printed in the README's "Signed links for panels" example (same secret and values). */
const README_SIG = "glw-582DzvSazkWutSqm6ql0krDF2LhyT5v-Pg2c_pQ";

describe("pickParams", () => {
  it("keeps rid, src, utm_* and per-link names, as strings only", () => {
    expect(
      pickParams(
        { rid: "1", src: "vk", utm_source: "tg", utm_Bad: "x", panel: "p", other: "o", rid2: ["a", "b"], constructor: "c" },
        ["panel"],
      ),
    ).toEqual({ rid: "1", src: "vk", utm_source: "tg", panel: "p" });
  });

  it("keeps the names it is told to put first even behind thirty other parameters", () => {
    const query: Record<string, string> = {};
    for (let i = 0; i < 40; i++) query[`utm_x${i}`] = "1";
    query["rid"] = "42";
    expect(pickParams(query).rid).toBeUndefined();
    expect(pickParams(query, [], ["rid"]).rid).toBe("42");
  });

  it("truncates long values", () => {
    expect(pickParams({ rid: "x".repeat(5000) }).rid).toHaveLength(500);
  });
});

describe("signatures", () => {
  const secret = "study-secret";
  const optional = (signedParams: string[] | null) => ({ signedParams, requireSignature: false });
  const required = (signedParams: string[]) => ({ signedParams, requireSignature: true });

  it("accepts the HMAC of the sorted signed parameters and refuses any change", () => {
    const params = { rid: "42", panel: "7", utm_source: "vk" };
    const sig = signParams(secret, params, ["rid", "panel"]);
    expect(checkSignature(secret, { ...params, sig }, optional(["rid", "panel"]))).toBeUndefined();
    expect(checkSignature(secret, { ...params, rid: "43", sig }, optional(["rid", "panel"]))).toBe("invalid");
    expect(checkSignature("other-secret", { ...params, sig }, optional(["rid", "panel"]))).toBe("invalid");
    expect(checkSignature(secret, params, optional(["rid"]))).toBe("missing");
  });

  it("needs nothing when the link signs nothing or, not requiring it, no signed parameter is present", () => {
    expect(checkSignature(secret, { rid: "1" }, optional(null))).toBeUndefined();
    expect(checkSignature(secret, { rid: "1" }, required([]))).toBeUndefined();
    expect(checkSignature(secret, { src: "x" }, optional(["rid"]))).toBeUndefined();
  });

  it("refuses a missing signed parameter or signature when the link requires signing", () => {
    const sig = signParams(secret, { rid: "42", panel: "7" }, ["rid", "panel"]);
    expect(checkSignature(secret, { src: "x" }, required(["rid"]))).toBe("missing");
    expect(checkSignature(secret, { rid: "42" }, required(["rid"]))).toBe("missing");
    // One of two signed parameters left out, even with a signature that is right for the other alone.
    expect(checkSignature(secret, { rid: "42", sig: signParams(secret, { rid: "42" }, ["rid"]) }, required(["rid", "panel"]))).toBe("missing");
    expect(checkSignature(secret, { rid: "42", panel: "7", sig }, required(["rid", "panel"]))).toBeUndefined();
  });

  it("refuses a signed parameter or the signature sent twice, required or not", () => {
    const sig = signParams(secret, { rid: "a" }, ["rid"]);
    for (const rule of [optional(["rid"]), required(["rid"])]) {
      expect(checkSignature(secret, { rid: ["a", "b"], sig }, rule)).toBe("repeated");
      expect(checkSignature(secret, { rid: ["a", "a"], sig }, rule)).toBe("repeated");
      expect(checkSignature(secret, { rid: "a", sig: [sig, sig] }, rule)).toBe("repeated");
    }
  });

  it("reads the query by own keys only, and refuses a signed value longer than is kept", () => {
    const query = Object.create({ rid: "inherited" }) as Record<string, unknown>;
    expect(checkSignature(secret, query, required(["rid"]))).toBe("missing");
    const long = "x".repeat(501);
    expect(checkSignature(secret, { rid: long, sig: signParams(secret, { rid: long }, ["rid"]) }, optional(["rid"]))).toBe("too_long");
  });

  it("matches the worked example of the README", () => {
    const example = "hQ3x1l2bL0mS9yq2mC6m2o0xj0zF8qkJ1o8aNf1pV2c";
    expect(signParams(example, { rid: "12345", panel: "7" }, ["rid", "panel"])).toBe(README_SIG);
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
