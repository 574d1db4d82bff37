import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call, formatMoney, type Product } from "../api/client";
import { AttributesEditor, fromRows, toRows, type AttributeRow } from "../components/AttributesEditor";
import { ProductImages } from "../components/ProductImages";
import { mergeServerCopy } from "../formMerge";
import { Button, Card, Empty, ErrorMessage, Field, FormError, Loading, PageTitle, Select, TextArea, fieldErrors } from "../components/ui";

export function StaffProductsPage() {
  const [params, setParams] = useSearchParams();
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const q = params.get("q") ?? "";
  const products = useQuery({
    queryKey: ["staff-products", q, page],
    queryFn: () =>
      call(
        api.GET("/api/catalog/products", {
          params: { query: { q: q || undefined, page, page_size: 25, include_inactive: true, sort: "newest" } },
        }),
      ),
  });
  return (
    <div>
      <div className="mb-4 flex flex-wrap items-center gap-3">
        <PageTitle>Products</PageTitle>
        <Link to="/staff/products/new" className="ml-auto rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700">
          New product
        </Link>
      </div>
      <form
        role="search"
        className="mb-4 flex items-end gap-2"
        onSubmit={(event) => {
          event.preventDefault();
          const value = String(new FormData(event.currentTarget).get("q") ?? "").trim();
          setParams(value ? { q: value } : {});
        }}
      >
        <Field label="Search products" name="q" type="search" defaultValue={q} />
        <Button type="submit" variant="secondary">
          Search
        </Button>
      </form>
      {products.isPending ? (
        <Loading />
      ) : products.isError ? (
        <ErrorMessage error={products.error} retry={() => void products.refetch()} />
      ) : products.data.items.length === 0 ? (
        <Empty>No products.</Empty>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full text-sm">
            <thead>
              <tr className="text-left text-slate-600">
                <th className="py-1">Name</th>
                <th>SKU</th>
                <th>Price</th>
                <th>Available</th>
                <th>Reserved</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {products.data.items.map((product) => (
                <tr key={product.id} className="border-t border-slate-200">
                  <td className="py-2">
                    <Link className="text-indigo-700 hover:underline" to={`/staff/products/${product.id}`}>
                      {product.name}
                    </Link>
                  </td>
                  <td className="font-mono">{product.sku}</td>
                  <td>{formatMoney(product.price, product.currency)}</td>
                  <td>{product.available}</td>
                  <td>{product.reserved}</td>
                  <td>{product.active ? "active" : "inactive"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav aria-label="Pagination" className="mt-4 flex justify-center gap-3">
            <Button variant="secondary" disabled={page <= 1} onClick={() => setParams({ ...(q ? { q } : {}), page: String(page - 1) })}>
              Previous
            </Button>
            <Button
              variant="secondary"
              disabled={page >= products.data.pages}
              onClick={() => setParams({ ...(q ? { q } : {}), page: String(page + 1) })}
            >
              Next
            </Button>
          </nav>
        </div>
      )}
    </div>
  );
}

interface FormState {
  sku: string;
  name: string;
  description: string;
  price: string;
  currency: string;
  category: string;
  images: string;
  attributes: AttributeRow[];
}

const EMPTY: FormState = { sku: "", name: "", description: "", price: "", currency: "EUR", category: "", images: "", attributes: [] };

function stateOf(product: Product): FormState {
  return {
    sku: product.sku,
    name: product.name,
    description: product.description,
    price: product.price,
    currency: product.currency,
    category: product.category,
    images: product.images.join("\n"),
    attributes: toRows(product.attributes),
  };
}

export function ProductEditorPage() {
  const { id } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<FormState>(EMPTY);
  const product = useQuery({
    queryKey: ["staff-product", id],
    enabled: Boolean(id),
    queryFn: () => call(api.GET("/api/catalog/products/{product_id}", { params: { path: { product_id: id! } } })),
  });
  const categories = useQuery({ queryKey: ["categories"], queryFn: () => call(api.GET("/api/catalog/categories")) });
  // The last server copy the form was filled from: a newer one (after an upload, a stock
  // receipt, a save) updates only the fields not edited since (formMerge).
  const serverCopy = useRef<FormState>(EMPTY);
  useEffect(() => {
    if (!product.data) return;
    const base = serverCopy.current;
    const next = stateOf(product.data);
    serverCopy.current = next;
    setForm((current) => mergeServerCopy(base, current, next));
  }, [product.data]);

  const refresh = (saved: Product) => {
    queryClient.setQueryData(["staff-product", saved.id], saved);
    void queryClient.invalidateQueries({ queryKey: ["staff-products"] });
    void queryClient.invalidateQueries({ queryKey: ["products"] });
  };
  const save = useMutation({
    mutationFn: () => {
      const images = form.images.split(/\s+/).filter(Boolean);
      const common = {
        name: form.name,
        description: form.description,
        price: form.price,
        currency: form.currency || null,
        category: form.category,
        images,
        attributes: fromRows(form.attributes),
      };
      return id
        ? call(api.PATCH("/api/catalog/products/{product_id}", { params: { path: { product_id: id } }, body: common }))
        : call(api.POST("/api/catalog/products", { body: { ...common, sku: form.sku } }));
    },
    onSuccess: (saved) => {
      // What was edited is saved: the form shows the server's copy (its normalised values).
      serverCopy.current = stateOf(saved);
      setForm(serverCopy.current);
      refresh(saved);
      if (!id) navigate(`/staff/products/${saved.id}`, { replace: true });
    },
  });
  const stock = useMutation({
    mutationFn: (quantity: number) =>
      call(api.POST("/api/catalog/products/{product_id}/stock", { params: { path: { product_id: id! } }, body: { quantity } })),
    onSuccess: refresh,
  });
  const deactivate = useMutation({
    mutationFn: () => call(api.POST("/api/catalog/products/{product_id}/deactivate", { params: { path: { product_id: id! } } })),
    onSuccess: refresh,
  });
  const newCategory = useMutation({
    mutationFn: (name: string) => call(api.POST("/api/catalog/categories", { body: { name } })),
    onSuccess: (category) => {
      void queryClient.invalidateQueries({ queryKey: ["categories"] });
      setForm((state) => ({ ...state, category: category.slug }));
    },
  });

  if (id && product.isPending) return <Loading what="Loading the product" />;
  if (id && product.isError) return <ErrorMessage error={product.error} retry={() => void product.refetch()} />;
  const errors = fieldErrors(save.error);
  const bind = (key: keyof Omit<FormState, "attributes">) => ({
    value: form[key],
    onChange: (event: { target: { value: string } }) => setForm((state) => ({ ...state, [key]: event.target.value })),
    error: errors[key],
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };

  return (
    <div className="grid gap-6 lg:grid-cols-[2fr_1fr]">
      <Card>
        <PageTitle>{id ? `Edit ${product.data?.name}` : "New product"}</PageTitle>
        <form className="flex flex-col gap-4" onSubmit={submit} noValidate>
          <Field label="SKU" {...bind("sku")} disabled={Boolean(id)} required />
          <Field label="Name" {...bind("name")} required />
          <TextArea
            label="Description"
            rows={3}
            value={form.description}
            onChange={(event) => setForm({ ...form, description: event.target.value })}
          />
          <div className="grid grid-cols-2 gap-3">
            <Field label="Price" inputMode="decimal" {...bind("price")} required />
            <Field label="Currency" {...bind("currency")} />
          </div>
          <div className="flex items-end gap-2">
            <Select
              label="Category"
              className="flex-1"
              value={form.category}
              onChange={(event) => setForm({ ...form, category: event.target.value })}
            >
              <option value="">Choose…</option>
              {categories.data?.items.map((category) => (
                <option key={category.slug} value={category.slug}>
                  {category.name}
                </option>
              ))}
            </Select>
            <Button
              type="button"
              variant="secondary"
              onClick={() => {
                const name = window.prompt("New category name");
                if (name) newCategory.mutate(name);
              }}
            >
              New category
            </Button>
          </div>
          {errors.category && <p role="alert" className="text-sm text-red-700">{errors.category.join(" ")}</p>}
          <FormError error={newCategory.error} />
          <TextArea
            label="Image paths on this site (one per line; upload pictures beside)"
            rows={2}
            value={form.images}
            error={errors.images}
            onChange={(event) => setForm({ ...form, images: event.target.value })}
          />
          <AttributesEditor rows={form.attributes} onChange={(attributes) => setForm({ ...form, attributes })} error={errors.attributes} />
          {Object.keys(errors).length === 0 && <FormError error={save.error} />}
          {save.isSuccess && <p role="status" className="text-green-700">Saved.</p>}
          <Button type="submit" busy={save.isPending}>
            {id ? "Save changes" : "Create product"}
          </Button>
        </form>
      </Card>
      {id && product.data && (
        <div className="flex flex-col gap-4">
          <ProductImages
            product={product.data}
            onChange={(saved) => {
              if (saved) refresh(saved);
              else void product.refetch();
            }}
          />
          <Card>
            <h2 className="mb-2 text-lg font-semibold">Stock</h2>
            <dl className="mb-3 grid grid-cols-2 text-sm" data-testid="stock">
              <dt>Available</dt>
              <dd data-testid="stock-available">{product.data.available}</dd>
              <dt>Reserved</dt>
              <dd>{product.data.reserved}</dd>
              <dt>Received</dt>
              <dd>{product.data.received}</dd>
            </dl>
            <form
              className="flex items-end gap-2"
              onSubmit={(event) => {
                event.preventDefault();
                const input = event.currentTarget.elements.namedItem("quantity") as HTMLInputElement;
                stock.mutate(Number(input.value));
                input.value = "";
              }}
            >
              <Field label="Units received" name="quantity" type="number" min={1} required error={fieldErrors(stock.error).quantity} />
              <Button type="submit" busy={stock.isPending}>
                Record receipt
              </Button>
            </form>
            <FormError error={Object.keys(fieldErrors(stock.error)).length ? null : stock.error} />
          </Card>
          <Card>
            <h2 className="mb-2 text-lg font-semibold">Availability</h2>
            {product.data.active ? (
              <Button variant="danger" busy={deactivate.isPending} onClick={() => deactivate.mutate()}>
                Deactivate
              </Button>
            ) : (
              <p>Inactive: hidden from the shop.</p>
            )}
            <FormError error={deactivate.error} />
            <p className="mt-3 text-sm">
              <Link className="text-indigo-700 underline" to={`/products/${product.data.slug}`}>
                View in the shop
              </Link>
            </p>
          </Card>
        </div>
      )}
    </div>
  );
}
