import { describe, expect, it } from "vitest";
import { mergeServerCopy } from "../formMerge";

describe("a new server copy under a form being edited", () => {
  const base = { name: "Mug", images: "/a.jpg", attributes: [{ key: "color", value: "red" }] };

  it("takes what the server changed in fields nobody edited", () => {
    const next = { ...base, images: "/a.jpg\n/b.jpg" };
    expect(mergeServerCopy(base, base, next)).toEqual(next);
  });

  it("keeps the edits in progress", () => {
    const current = { ...base, name: "Big mug", attributes: [{ key: "color", value: "blue" }] };
    const next = { ...base, images: "/a.jpg\n/b.jpg" };
    expect(mergeServerCopy(base, current, next)).toEqual({
      name: "Big mug",
      images: "/a.jpg\n/b.jpg",
      attributes: [{ key: "color", value: "blue" }],
    });
  });

  it("fills an empty form on the first load", () => {
    const empty = { name: "", images: "", attributes: [] };
    expect(mergeServerCopy(empty, empty, base)).toEqual(base);
  });
});
