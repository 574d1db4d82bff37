// Product attributes as people read them: the category's label for a name ("Weight (g)", not
// "weight_g"), else the name made readable; values as words, not JSON.

export function attributeLabel(name: string, labels: Record<string, string> | undefined): string {
  const label = labels?.[name];
  if (label) return label;
  const words = name.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function attributeValue(value: unknown): string {
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (Array.isArray(value)) return value.map(attributeValue).join(", ");
  if (value !== null && typeof value === "object") {
    return Object.entries(value as Record<string, unknown>)
      .map(([key, inner]) => `${attributeLabel(key, undefined)}: ${attributeValue(inner)}`)
      .join(", ");
  }
  return String(value);
}
