import { describe, expect, it } from "vitest";
import { attributeLabel, attributeValue } from "../attributes";

describe("attributes as people read them", () => {
  it("uses the category's label, else a readable name", () => {
    expect(attributeLabel("weight_g", { weight_g: "Weight (g)" })).toBe("Weight (g)");
    expect(attributeLabel("dishwasher_safe", {})).toBe("Dishwasher safe");
    expect(attributeLabel("color", undefined)).toBe("Color");
  });

  it("shows values as words", () => {
    expect(attributeValue(true)).toBe("Yes");
    expect(attributeValue(false)).toBe("No");
    expect(attributeValue(["S", "M", 42])).toBe("S, M, 42");
    expect(attributeValue({ width_cm: 30, depth_cm: 20 })).toBe("Width cm: 30, Depth cm: 20");
    expect(attributeValue(250)).toBe("250");
  });
});
