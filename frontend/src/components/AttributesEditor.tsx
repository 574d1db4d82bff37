// Free-form product attributes as editable key/value rows. Values that parse as JSON numbers or
// booleans are sent as such ("42" -> 42, "true" -> true); anything else as text.
export interface AttributeRow {
  key: string;
  value: string;
}

export function toRows(attributes: Record<string, unknown> | undefined): AttributeRow[] {
  return Object.entries(attributes ?? {}).map(([key, value]) => ({
    key,
    value: typeof value === "string" ? value : JSON.stringify(value),
  }));
}

export function fromRows(rows: AttributeRow[]): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const { key, value } of rows) {
    const name = key.trim();
    if (!name) continue;
    const text = value.trim();
    if (/^-?\d+(\.\d+)?$/.test(text) || text === "true" || text === "false") attributes[name] = JSON.parse(text);
    else attributes[name] = text;
  }
  return attributes;
}

const COLUMNS = [
  { part: "key", word: "name", width: "w-1/3" },
  { part: "value", word: "value", width: "flex-1" },
] as const;

export function AttributesEditor({
  rows,
  onChange,
  error,
}: {
  rows: AttributeRow[];
  onChange: (rows: AttributeRow[]) => void;
  error?: string[];
}) {
  const set = (index: number, change: Partial<AttributeRow>) =>
    onChange(rows.map((row, i) => (i === index ? { ...row, ...change } : row)));
  return (
    <fieldset className="flex flex-col gap-2">
      <legend className="text-sm font-medium text-slate-700">Attributes</legend>
      {rows.map((row, index) => (
        <div key={index} className="flex gap-2">
          {COLUMNS.map(({ part, word, width }) => (
            <input
              key={part}
              aria-label={`Attribute ${index + 1} ${word}`}
              className={`${width} rounded-md border border-slate-300 px-2 py-1 text-sm`}
              value={row[part]}
              placeholder={word}
              onChange={(event) => set(index, { [part]: event.target.value })}
            />
          ))}
          <button
            type="button"
            className="rounded px-2 text-sm text-red-700 hover:bg-red-50"
            aria-label={`Remove attribute ${row.key || index + 1}`}
            onClick={() => onChange(rows.filter((_, i) => i !== index))}
          >
            Remove
          </button>
        </div>
      ))}
      <button
        type="button"
        className="self-start rounded px-2 py-1 text-sm text-indigo-700 hover:bg-indigo-50"
        onClick={() => onChange([...rows, { key: "", value: "" }])}
      >
        Add attribute
      </button>
      {error?.length ? (
        <p role="alert" className="text-sm text-red-700">
          {error.join(" ")}
        </p>
      ) : null}
    </fieldset>
  );
}
