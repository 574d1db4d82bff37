import { useSearchParams } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, call, formatMoney, type Sales } from "../api/client";
import { Card, Empty, ErrorMessage, Loading, PageTitle, Select } from "../components/ui";

type GroupBy = "day" | "week" | "month";

/** Revenue per period as an accessible SVG bar chart (one currency). */
export function RevenueChart({ sales, currency }: { sales: Sales; currency: string }) {
  const values = sales.periods.map((period) => Number(period.revenue[currency] ?? 0));
  const max = Math.max(1, ...values);
  const width = 640;
  const height = 200;
  const bar = width / Math.max(1, values.length);
  return (
    <figure>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`Revenue in ${currency} per ${sales.group_by}`}
        className="h-48 w-full"
      >
        {sales.periods.map((period, index) => {
          const h = (values[index] / max) * height;
          return (
            <g key={period.period_start}>
              <rect x={index * bar + 2} y={height - h} width={Math.max(1, bar - 4)} height={h} className="fill-indigo-500">
                <title>
                  {period.period_start}: {formatMoney(String(values[index]), currency)} ({period.orders} orders)
                </title>
              </rect>
            </g>
          );
        })}
        <line x1={0} x2={width} y1={height} y2={height} className="stroke-slate-400" />
      </svg>
      <div className="flex justify-between text-xs text-slate-500">
        <span>{sales.from}</span>
        <span>{sales.to}</span>
      </div>
      <figcaption className="text-sm text-slate-600">Revenue in {currency} per {sales.group_by}</figcaption>
    </figure>
  );
}

export function ReportsPage() {
  const [params, setParams] = useSearchParams();
  const groupBy = (params.get("group_by") ?? "day") as GroupBy;
  const report = useQuery({
    queryKey: ["sales", groupBy],
    queryFn: () => call(api.GET("/api/reports/sales", { params: { query: { group_by: groupBy, top: 10 } } })),
  });
  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-wrap items-end gap-3">
        <PageTitle>Sales report</PageTitle>
        <Select label="Group by" className="ml-auto" value={groupBy} onChange={(event) => setParams({ group_by: event.target.value })}>
          <option value="day">Day</option>
          <option value="week">Week</option>
          <option value="month">Month</option>
        </Select>
      </div>
      {report.isPending ? (
        <Loading what="Loading the report" />
      ) : report.isError ? (
        <ErrorMessage error={report.error} retry={() => void report.refetch()} />
      ) : report.data.orders === 0 ? (
        <Empty>No confirmed orders between {report.data.from} and {report.data.to}.</Empty>
      ) : (
        <>
          <Card>
            <p className="mb-2" data-testid="report-summary">
              <strong>{report.data.orders}</strong> confirmed orders,{" "}
              {Object.entries(report.data.revenue)
                .map(([currency, amount]) => formatMoney(amount, currency))
                .join(" + ")}
            </p>
            {Object.keys(report.data.revenue).map((currency) => (
              <RevenueChart key={currency} sales={report.data} currency={currency} />
            ))}
          </Card>
          <Card>
            <h2 className="mb-2 text-lg font-semibold">Top products by revenue</h2>
            <table className="w-full text-sm" data-testid="top-products">
              <thead>
                <tr className="text-left text-slate-600">
                  <th>Product</th>
                  <th>Units</th>
                  <th className="text-right">Revenue</th>
                </tr>
              </thead>
              <tbody>
                {report.data.top_products.by_revenue.map((product) => (
                  <tr key={`${product.product_id}-${product.currency}`} className="border-t border-slate-200">
                    <td className="py-1">{product.name}</td>
                    <td>{product.quantity}</td>
                    <td className="text-right">{formatMoney(product.revenue, product.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
        </>
      )}
    </div>
  );
}
