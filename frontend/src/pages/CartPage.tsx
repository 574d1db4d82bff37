import { useRef } from "react";
import { Link, useNavigate } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call, formatMoney } from "../api/client";
import { Button, Card, Empty, ErrorMessage, FormError, Loading, PageTitle } from "../components/ui";

export function CartPage() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  // One key per checkout attempt: a retried click never places a second order.
  const idempotencyKey = useRef(crypto.randomUUID());
  const cart = useQuery({ queryKey: ["cart"], queryFn: () => call(api.GET("/api/cart")) });
  const setQuantity = useMutation({
    mutationFn: ({ productId, quantity }: { productId: string; quantity: number }) =>
      call(api.PUT("/api/cart/items/{product_id}", { params: { path: { product_id: productId } }, body: { quantity } })),
    onSuccess: (data) => queryClient.setQueryData(["cart"], data),
  });
  const checkout = useMutation({
    mutationFn: () =>
      call(api.POST("/api/orders", { params: { header: { "Idempotency-Key": idempotencyKey.current } }, body: {} })),
    onSuccess: (order) => {
      idempotencyKey.current = crypto.randomUUID();
      void queryClient.invalidateQueries({ queryKey: ["cart"] });
      void queryClient.invalidateQueries({ queryKey: ["orders"] });
      navigate(`/orders/${order.id}`);
    },
  });

  if (cart.isPending) return <Loading what="Loading your cart" />;
  if (cart.isError) return <ErrorMessage error={cart.error} retry={() => void cart.refetch()} />;
  const { items, subtotal, currency, priced } = cart.data;
  return (
    <div>
      <PageTitle>Your cart</PageTitle>
      {items.length === 0 ? (
        <Empty>
          Your cart is empty. <Link className="text-indigo-700 underline" to="/">Browse the shop</Link>
        </Empty>
      ) : (
        <Card>
          {!priced && <p role="alert" className="mb-3 text-amber-800">Prices are unavailable right now; checkout prices them again.</p>}
          <ul aria-label="Cart items" className="divide-y divide-slate-200">
            {items.map((item) => (
              <li key={item.product_id} className="flex flex-wrap items-center gap-3 py-3">
                <span className="min-w-40 flex-1 font-medium">{item.name ?? item.product_id}</span>
                {item.orderable === false && <span className="text-sm text-red-700">no longer sold</span>}
                <span className="text-sm text-slate-600">{formatMoney(item.unit_price, item.currency)}</span>
                <label className="flex items-center gap-2 text-sm">
                  Quantity
                  <input
                    type="number"
                    min={0}
                    max={99}
                    defaultValue={item.quantity}
                    key={item.quantity}
                    className="w-20 rounded-md border border-slate-300 px-2 py-1"
                    aria-label={`Quantity of ${item.name ?? item.product_id}`}
                    onBlur={(event) => {
                      const quantity = Number(event.target.value);
                      if (Number.isInteger(quantity) && quantity >= 0 && quantity !== item.quantity) {
                        setQuantity.mutate({ productId: item.product_id, quantity });
                      }
                    }}
                  />
                </label>
                <span className="w-24 text-right font-semibold">{formatMoney(item.line_total, item.currency)}</span>
                <Button variant="ghost" onClick={() => setQuantity.mutate({ productId: item.product_id, quantity: 0 })}>
                  Remove
                </Button>
              </li>
            ))}
          </ul>
          <p className="mt-4 flex justify-between border-t border-slate-200 pt-4 text-lg">
            <span>Subtotal</span>
            <span className="font-bold" data-testid="subtotal">
              {formatMoney(subtotal, currency)}
            </span>
          </p>
          <FormError error={setQuantity.error ?? checkout.error} />
          <div className="mt-4 flex justify-end">
            <Button onClick={() => checkout.mutate()} busy={checkout.isPending}>
              Place order
            </Button>
          </div>
        </Card>
      )}
    </div>
  );
}
