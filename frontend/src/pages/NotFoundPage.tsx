// What a path no route takes shows: a page of its own, with a way back.
import { Link } from "react-router";
import { Card, PageTitle } from "../components/ui";

export function NotFoundPage() {
  return (
    <Card className="mx-auto max-w-md">
      <PageTitle>Page not found</PageTitle>
      <p className="mb-4 text-slate-700">There is nothing at this address. It may have moved, or the link may be mistyped.</p>
      <Link className="text-indigo-700 underline" to="/">
        Back to the shop
      </Link>
    </Card>
  );
}
