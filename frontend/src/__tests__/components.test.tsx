import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { AttributesEditor, fromRows, toRows, type AttributeRow } from "../components/AttributesEditor";
import { ErrorMessage, Field, FormError } from "../components/ui";
import { RevenueChart } from "../pages/ReportsPage";

describe("ApiError", () => {
  it("reads the platform's error shape", () => {
    const error = ApiError.from(400, {
      error: { code: "validation_error", message: "Invalid input.", fields: { email: ["Enter a valid e-mail."] } },
    });
    expect(error.code).toBe("validation_error");
    expect(error.message).toBe("Invalid input.");
    expect(error.fields.email).toEqual(["Enter a valid e-mail."]);
  });

  it("explains a network failure and an unexpected body", () => {
    expect(ApiError.from(0, null).message).toMatch(/cannot be reached/);
    expect(ApiError.from(502, "<html>").message).toMatch(/502/);
  });
});

describe("Field", () => {
  it("labels its input and shows the API's error next to it", () => {
    render(<Field label="E-mail" name="email" error={["Already registered."]} />);
    const input = screen.getByLabelText("E-mail");
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(input).toHaveAccessibleDescription("Already registered.");
  });
});

describe("error states", () => {
  it("says a service is down instead of showing nothing", () => {
    render(<ErrorMessage error={new ApiError(503, "upstream_unavailable", "Catalog is unavailable.")} />);
    expect(screen.getByRole("alert")).toHaveTextContent("Catalog is unavailable. (the service may be down");
  });

  it("shows a form's general error", () => {
    render(<FormError error={new ApiError(401, "invalid_credentials", "Wrong e-mail or password.")} />);
    expect(screen.getByRole("alert")).toHaveTextContent("Wrong e-mail or password.");
  });
});

describe("AttributesEditor", () => {
  it("converts rows to typed attributes and back", () => {
    const rows: AttributeRow[] = [
      { key: "color", value: "red" },
      { key: "watts", value: "40" },
      { key: "dimmable", value: "true" },
      { key: " ", value: "ignored" },
    ];
    expect(fromRows(rows)).toEqual({ color: "red", watts: 40, dimmable: true });
    expect(toRows({ color: "red", watts: 40 })).toEqual([
      { key: "color", value: "red" },
      { key: "watts", value: "40" },
    ]);
  });

  it("adds, edits and removes rows with labelled inputs", async () => {
    const user = userEvent.setup();
    let latest: AttributeRow[] = [];
    function Harness() {
      const [rows, setRows] = useState<AttributeRow[]>([]);
      latest = rows;
      return <AttributesEditor rows={rows} onChange={setRows} />;
    }
    render(<Harness />);
    await user.click(screen.getByRole("button", { name: "Add attribute" }));
    await user.type(screen.getByLabelText("Attribute 1 name"), "material");
    await user.type(screen.getByLabelText("Attribute 1 value"), "oak");
    expect(latest).toEqual([{ key: "material", value: "oak" }]);
    await user.click(screen.getByRole("button", { name: "Remove attribute material" }));
    expect(latest).toEqual([]);
  });
});

describe("RevenueChart", () => {
  it("draws one bar per period with an accessible name", () => {
    render(
      <RevenueChart
        currency="EUR"
        sales={{
          from: "2026-11-01",
          to: "2026-11-03",
          group_by: "day",
          orders: 2,
          revenue: { EUR: "30.00" },
          periods: [
            { period_start: "2026-11-01", orders: 1, revenue: { EUR: "10.00" } },
            { period_start: "2026-11-02", orders: 0, revenue: {} },
            { period_start: "2026-11-03", orders: 1, revenue: { EUR: "20.00" } },
          ],
          top_products: { by_quantity: [], by_revenue: [] },
        }}
      />,
    );
    const chart = screen.getByRole("img", { name: "Revenue in EUR per day" });
    expect(chart.querySelectorAll("rect")).toHaveLength(3);
  });
});
