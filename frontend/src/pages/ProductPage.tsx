import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call, formatMoney } from "../api/client";
import { attributeLabel, attributeValue } from "../attributes";
import { useAuth } from "../auth";
import { Button, Card, ErrorMessage, Field, FormError, Loading } from "../components/ui";

export function ProductPage() {
  const { slug = "" } = useParams();
  const { user } = useAuth();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [quantity, setQuantity] = useState(1);
  const [added, setAdded] = useState(false);
  const product = useQuery({
    queryKey: ["product", slug],
    queryFn: () => call(api.GET("/api/catalog/products/by-slug/{slug}", { params: { path: { slug } } })),
  });
  // The same list the shop's filters use (cached): it holds the category's attribute labels.
  const categories = useQuery({ queryKey: ["categories"], queryFn: () => call(api.GET("/api/catalog/categories")) });
  const cart = useQuery({
    queryKey: ["cart"],
    enabled: Boolean(user),
    queryFn: () => call(api.GET("/api/cart")),
  });
  const add = useMutation({
    mutationFn: async () => {
      const id = product.data!.id;
      const current = cart.data?.items.find((item) => item.product_id === id)?.quantity ?? 0;
      return call(
        api.PUT("/api/cart/items/{product_id}", {
          params: { path: { product_id: id } },
          body: { quantity: current + quantity },
        }),
      );
    },
    onSuccess: (data) => {
      queryClient.setQueryData(["cart"], data);
      setAdded(true);
    },
  });

  if (product.isPending) return <Loading what="Loading product" />;
  if (product.isError) return <ErrorMessage error={product.error} retry={() => void product.refetch()} />;
  const p = product.data;
  const attributes = Object.entries(p.attributes ?? {});
  const labels = categories.data?.items.find((category) => category.slug === p.category)?.attribute_labels;
  return (
    <article className="grid gap-6 md:grid-cols-2">
      <div className="flex flex-col gap-3">
        {p.images.length > 0 ? (
          // A fixed 4:3 box before the picture arrives: the page does not shift when it does.
          p.images.map((src) => (
            <img key={src} src={src} alt={p.name} width={800} height={600} className="aspect-[4/3] w-full rounded-lg object-cover" />
          ))
        ) : (
          <div className="flex h-64 items-center justify-center rounded-lg bg-slate-200 text-slate-500">No image</div>
        )}
      </div>
      <div className="flex flex-col gap-4">
        <Link to="/" className="text-sm text-indigo-700 hover:underline">
          ← Back to the shop
        </Link>
        <h1 className="text-3xl font-bold">{p.name}</h1>
        <p className="text-2xl font-semibold" data-testid="price">
          {formatMoney(p.price, p.currency)}
        </p>
        <p className={p.available > 0 ? "text-green-700" : "text-red-700"} data-testid="availability">
          {p.available > 0 ? `${p.available} available` : "Out of stock"}
        </p>
        {!p.active && <p className="text-red-700">This product is no longer sold.</p>}
        {p.description && <p className="whitespace-pre-line text-slate-700">{p.description}</p>}
        {attributes.length > 0 && (
          <Card>
            <h2 className="mb-2 font-semibold">Details</h2>
            <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
              {attributes.map(([key, value]) => (
                <div key={key} className="contents">
                  <dt className="font-medium text-slate-600">{attributeLabel(key, labels)}</dt>
                  <dd>{attributeValue(value)}</dd>
                </div>
              ))}
            </dl>
          </Card>
        )}
        {user ? (
          <form
            className="flex items-end gap-3"
            onSubmit={(event) => {
              event.preventDefault();
              setAdded(false);
              add.mutate();
            }}
          >
            <Field
              label="Quantity"
              type="number"
              min={1}
              max={99}
              value={quantity}
              onChange={(event) => setQuantity(Math.max(1, Number(event.target.value) || 1))}
              className="w-24"
            />
            <Button type="submit" busy={add.isPending} disabled={!p.active}>
              Add to cart
            </Button>
          </form>
        ) : (
          <p>
            <Link className="text-indigo-700 underline" to={`/login?next=/products/${p.slug}`}>
              Log in
            </Link>{" "}
            to buy this product.
          </p>
        )}
        <FormError error={add.error} />
        {added && (
          <p role="status" className="text-green-700">
            Added to your cart.{" "}
            <button className="underline" onClick={() => navigate("/cart")}>
              Go to the cart
            </button>
          </p>
        )}
      </div>
    </article>
  );
}
