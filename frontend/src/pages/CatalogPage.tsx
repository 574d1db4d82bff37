// Browse: every filter lives in the URL (?q=&category=&min_price=&max_price=&attr.k=v&sort=&page=),
// so links, reloads and the back button keep them.
import { type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, call, formatMoney } from "../api/client";
import { Button, Card, Empty, ErrorMessage, Field, Loading, PageTitle, Select } from "../components/ui";
import { thumbnailOf } from "../components/ProductImages";

const SORTS = [
  ["relevance", "Relevance"],
  ["newest", "Newest"],
  ["price_asc", "Price: low to high"],
  ["price_desc", "Price: high to low"],
  ["name", "Name"],
] as const;
const PAGE_SIZE = 12;

export function CatalogPage() {
  const [params, setParams] = useSearchParams();
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const attributes = [...params.entries()].filter(([key]) => key.startsWith("attr."));
  const queryString = params.toString();

  const categories = useQuery({
    queryKey: ["categories"],
    queryFn: () => call(api.GET("/api/catalog/categories")),
  });
  const products = useQuery({
    queryKey: ["products", queryString],
    placeholderData: keepPreviousData,
    queryFn: () => {
      const query: Record<string, string | number> = { page_size: PAGE_SIZE };
      for (const [key, value] of params.entries()) if (value) query[key] = value;
      return call(
        api.GET("/api/catalog/products", {
          params: { query: query as never },
        }),
      );
    },
  });

  function update(changes: Record<string, string | null>, resetPage = true) {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    if (resetPage) next.delete("page");
    setParams(next);
  }

  function submitFilters(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const changes: Record<string, string | null> = {};
    for (const key of ["q", "category", "min_price", "max_price", "sort"]) {
      changes[key] = String(form.get(key) ?? "").trim() || null;
    }
    if (changes.sort === "relevance") changes.sort = null;
    const attrKey = String(form.get("attr_key") ?? "").trim();
    const attrValue = String(form.get("attr_value") ?? "").trim();
    if (attrKey && attrValue) changes[`attr.${attrKey}`] = attrValue;
    update(changes);
  }

  return (
    <div className="grid gap-6 lg:grid-cols-[16rem_1fr]">
      <aside>
        <form role="search" aria-label="Products" onSubmit={submitFilters} className="flex flex-col gap-3" key={queryString}>
          <Field label="Search" name="q" type="search" defaultValue={params.get("q") ?? ""} placeholder="Lamp, mug…" />
          <Select label="Category" name="category" defaultValue={params.get("category") ?? ""}>
            <option value="">All categories</option>
            {categories.data?.items.map((category) => (
              <option key={category.slug} value={category.slug}>
                {category.name} ({category.product_count})
              </option>
            ))}
          </Select>
          <div className="grid grid-cols-2 gap-2">
            <Field label="Min price" name="min_price" inputMode="decimal" defaultValue={params.get("min_price") ?? ""} />
            <Field label="Max price" name="max_price" inputMode="decimal" defaultValue={params.get("max_price") ?? ""} />
          </div>
          <fieldset className="grid grid-cols-2 gap-2">
            <legend className="mb-1 text-sm font-medium text-slate-700">Attribute</legend>
            <Field label="Name" name="attr_key" placeholder="color" />
            <Field label="Value" name="attr_value" placeholder="red" />
          </fieldset>
          {attributes.length > 0 && (
            <ul className="flex flex-wrap gap-2" aria-label="Attribute filters">
              {attributes.map(([key, value]) => (
                <li key={key}>
                  <button
                    type="button"
                    className="rounded-full bg-indigo-100 px-2 py-0.5 text-xs text-indigo-800"
                    onClick={() => update({ [key]: null })}
                    aria-label={`Remove filter ${key.slice(5)} = ${value}`}
                  >
                    {key.slice(5)} = {value} ✕
                  </button>
                </li>
              ))}
            </ul>
          )}
          <Select label="Sort by" name="sort" defaultValue={params.get("sort") ?? "relevance"}>
            {SORTS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </Select>
          <div className="flex gap-2">
            <Button type="submit">Apply</Button>
            <Button type="button" variant="secondary" onClick={() => setParams(new URLSearchParams())}>
              Reset
            </Button>
          </div>
        </form>
      </aside>
      <section aria-labelledby="results-title">
        <PageTitle>
          <span id="results-title">Products</span>
        </PageTitle>
        {products.isPending ? (
          <Loading what="Loading products" />
        ) : products.isError ? (
          <ErrorMessage error={products.error} retry={() => void products.refetch()} />
        ) : products.data.items.length === 0 ? (
          <Empty>No products match these filters.</Empty>
        ) : (
          <>
            <p className="mb-3 text-sm text-slate-600" aria-live="polite">
              {products.data.total} products
            </p>
            <ul className="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-3" aria-label="Products">
              {products.data.items.map((product, index) => (
                <li key={product.id}>
                  <Card className="flex h-full flex-col gap-2">
                    {product.images[0] && (
                      <img
                        src={thumbnailOf(product.images[0])}
                        alt={product.name}
                        width={480}
                        height={360}
                        className="h-40 w-full rounded object-cover"
                        // The first row is what a phone shows at once: fetched now, not when scrolled to.
                        loading={index < 3 ? "eager" : "lazy"}
                      />
                    )}
                    <Link to={`/products/${product.slug}`} className="font-semibold text-indigo-700 hover:underline">
                      {product.name}
                    </Link>
                    <p className="text-sm text-slate-600">{product.category}</p>
                    <p className="mt-auto flex justify-between text-sm">
                      <span className="font-semibold">{formatMoney(product.price, product.currency)}</span>
                      <span className={product.available > 0 ? "text-green-700" : "text-red-700"}>
                        {product.available > 0 ? "In stock" : "Out of stock"}
                      </span>
                    </p>
                  </Card>
                </li>
              ))}
            </ul>
            <nav aria-label="Pagination" className="mt-6 flex items-center justify-center gap-3">
              <Button variant="secondary" disabled={page <= 1} onClick={() => update({ page: String(page - 1) }, false)}>
                Previous
              </Button>
              <span className="text-sm">
                Page {products.data.page} of {Math.max(1, products.data.pages)}
              </span>
              <Button
                variant="secondary"
                disabled={page >= products.data.pages}
                onClick={() => update({ page: String(page + 1) }, false)}
              >
                Next
              </Button>
            </nav>
          </>
        )}
      </section>
    </div>
  );
}
