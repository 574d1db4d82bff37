import { Link, useParams, useSearchParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call, formatMoney, type Order } from "../api/client";
import { Badge, Button, Card, Empty, ErrorMessage, FormError, Loading, PageTitle } from "../components/ui";

export function OrdersPage() {
  const [params, setParams] = useSearchParams();
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const orders = useQuery({
    queryKey: ["orders", page],
    queryFn: () => call(api.GET("/api/orders", { params: { query: { page, page_size: 20 } } })),
  });
  if (orders.isPending) return <Loading what="Loading your orders" />;
  if (orders.isError) return <ErrorMessage error={orders.error} retry={() => void orders.refetch()} />;
  const pages = Math.max(1, Math.ceil(orders.data.total / orders.data.page_size));
  return (
    <div>
      <PageTitle>Your orders</PageTitle>
      {orders.data.items.length === 0 ? (
        <Empty>No orders yet.</Empty>
      ) : (
        <ul aria-label="Orders" className="flex flex-col gap-3">
          {orders.data.items.map((order) => (
            <li key={order.id}>
              <Card className="flex flex-wrap items-center gap-3">
                <Link to={`/orders/${order.id}`} className="font-mono text-sm text-indigo-700 hover:underline">
                  Order {order.id.slice(0, 8)}
                </Link>
                <Badge status={order.status} />
                <span className="text-sm text-slate-600">{new Date(order.created_at).toLocaleString()}</span>
                <span className="ml-auto font-semibold">{formatMoney(order.total, order.currency)}</span>
              </Card>
            </li>
          ))}
        </ul>
      )}
      {pages > 1 && (
        <nav aria-label="Pagination" className="mt-4 flex justify-center gap-3">
          <Button variant="secondary" disabled={page <= 1} onClick={() => setParams({ page: String(page - 1) })}>
            Previous
          </Button>
          <Button variant="secondary" disabled={page >= pages} onClick={() => setParams({ page: String(page + 1) })}>
            Next
          </Button>
        </nav>
      )}
    </div>
  );
}

function reasonText(reason: Record<string, unknown>, order: Order): string {
  const name = order.lines.find((line) => line.product_id === reason.product_id)?.name ?? reason.product_id;
  const code = String(reason.code ?? "not available").replace(/_/g, " ");
  const counts =
    reason.requested !== undefined ? ` (requested ${reason.requested}, available ${reason.available ?? 0})` : "";
  return `${String(name ?? "A product")}: ${code}${counts}`;
}

export function OrderPage() {
  const { id = "" } = useParams();
  const queryClient = useQueryClient();
  // Live status arrives on the notifications socket (notifications.tsx), which refreshes this
  // order's query; the SSE stream (/api/orders/{id}/events) stays for API clients. A slow poll
  // while pending covers a message sent before the socket was open (delivery is at most once).
  const order = useQuery({
    queryKey: ["order", id],
    queryFn: () => call(api.GET("/api/orders/{order_id}", { params: { path: { order_id: id } } })),
    refetchInterval: (query) => (query.state.data?.status === "pending" ? 5000 : false),
  });
  const cancel = useMutation({
    mutationFn: () => call(api.POST("/api/orders/{order_id}/cancel", { params: { path: { order_id: id } } })),
    onSuccess: (data) => {
      queryClient.setQueryData(["order", id], data);
      void queryClient.invalidateQueries({ queryKey: ["orders"] });
    },
  });

  if (order.isPending) return <Loading what="Loading the order" />;
  if (order.isError) return <ErrorMessage error={order.error} retry={() => void order.refetch()} />;
  const o = order.data;
  return (
    <Card>
      <Link to="/orders" className="text-sm text-indigo-700 hover:underline">
        ← All orders
      </Link>
      <h1 className="my-2 flex flex-wrap items-center gap-3 text-2xl font-bold">
        Order <span className="font-mono text-lg">{o.id.slice(0, 8)}</span>
        <span aria-live="polite">
          <Badge status={o.status} />
        </span>
      </h1>
      {o.status === "pending" && <p className="text-sm text-slate-600">Reserving stock… this page updates by itself.</p>}
      {o.status === "rejected" && (
        <div role="alert" className="my-3 rounded-md bg-red-50 p-3 text-red-800" data-testid="reasons">
          <p className="font-semibold">This order could not be filled.</p>
          <ul className="list-disc pl-5">
            {(o.reasons ?? []).map((reason, index) => (
              <li key={index}>{reasonText(reason, o)}</li>
            ))}
          </ul>
        </div>
      )}
      <table className="mt-4 w-full text-sm">
        <caption className="sr-only">Order lines</caption>
        <thead>
          <tr className="text-left text-slate-600">
            <th className="py-1">Product</th>
            <th>Unit price</th>
            <th>Quantity</th>
            <th className="text-right">Total</th>
          </tr>
        </thead>
        <tbody>
          {o.lines.map((line) => (
            <tr key={line.product_id} className="border-t border-slate-200">
              <td className="py-2">{line.name}</td>
              <td>{formatMoney(line.unit_price, o.currency)}</td>
              <td>{line.quantity}</td>
              <td className="text-right">{formatMoney(line.line_total, o.currency)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr className="border-t border-slate-300 font-bold">
            <td className="py-2" colSpan={3}>
              Total
            </td>
            <td className="text-right">{formatMoney(o.total, o.currency)}</td>
          </tr>
        </tfoot>
      </table>
      {(o.status === "pending" || o.status === "confirmed") && (
        <div className="mt-4">
          <Button variant="danger" busy={cancel.isPending} onClick={() => cancel.mutate()}>
            Cancel order
          </Button>
        </div>
      )}
      <FormError error={cancel.error} />
    </Card>
  );
}
