// The design system: Tailwind CSS utility classes behind a few components, so every screen
// has the same buttons, fields, states and focus ring.
import { useId, type ButtonHTMLAttributes, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from "react";
import { ApiError } from "../api/client";

type Variant = "primary" | "secondary" | "danger" | "ghost";
const VARIANTS: Record<Variant, string> = {
  primary: "bg-indigo-600 text-white hover:bg-indigo-700 disabled:bg-indigo-300",
  secondary: "bg-white text-slate-800 border border-slate-300 hover:bg-slate-100 disabled:text-slate-400",
  danger: "bg-red-600 text-white hover:bg-red-700 disabled:bg-red-300",
  ghost: "text-indigo-700 hover:bg-indigo-50",
};

export function Button({
  variant = "primary",
  busy = false,
  className = "",
  children,
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; busy?: boolean }) {
  return (
    <button
      {...props}
      disabled={props.disabled || busy}
      aria-busy={busy || undefined}
      className={`inline-flex items-center justify-center gap-2 rounded-md px-4 py-2 text-sm font-medium transition ${VARIANTS[variant]} ${className}`}
    >
      {busy && <Spinner small />}
      {children}
    </button>
  );
}

type Labelled = { label: string; error?: string[] | string; hint?: string };

/** A label above a control, then its hint or its errors (linked by aria-describedby). */
function LabelledControl({
  label,
  error,
  hint,
  className,
  control,
}: Labelled & { className: string; control: (id: string, invalid: boolean) => ReactNode }) {
  const id = useId();
  const errors = typeof error === "string" ? [error] : error;
  const invalid = Boolean(errors?.length);
  return (
    <div className={`flex flex-col gap-1 ${className}`}>
      <label htmlFor={id} className="text-sm font-medium text-slate-700">
        {label}
      </label>
      {control(id, invalid)}
      {hint && !invalid && <p className="text-xs text-slate-500">{hint}</p>}
      {invalid ? (
        <p id={`${id}-error`} role="alert" className="text-sm text-red-700" data-testid="field-error">
          {errors?.join(" ")}
        </p>
      ) : null}
    </div>
  );
}

function controlProps(id: string, invalid: boolean, look: string) {
  return {
    id,
    "aria-invalid": invalid || undefined,
    "aria-describedby": invalid ? `${id}-error` : undefined,
    className: `rounded-md border px-3 py-2 text-sm ${invalid ? "border-red-500" : "border-slate-300"} ${look}`,
  };
}

export function Field({ label, error, hint, className = "", ...props }: InputHTMLAttributes<HTMLInputElement> & Labelled) {
  const input = (id: string, invalid: boolean) => <input {...props} {...controlProps(id, invalid, "")} />;
  return <LabelledControl {...{ label, error, hint, className }} control={input} />;
}

/** A password input; ``fresh`` for a new password (so the browser offers to generate one). */
export function PasswordField({ fresh = false, ...props }: InputHTMLAttributes<HTMLInputElement> & Labelled & { fresh?: boolean }) {
  return <Field {...props} type="password" autoComplete={fresh ? "new-password" : "current-password"} />;
}

export function TextArea({ label, error, hint, className = "", ...props }: TextareaHTMLAttributes<HTMLTextAreaElement> & Labelled) {
  const textarea = (id: string, invalid: boolean) => <textarea {...props} {...controlProps(id, invalid, "")} />;
  return <LabelledControl {...{ label, error, hint, className }} control={textarea} />;
}

export function Select({
  label,
  children,
  className = "",
  ...props
}: SelectHTMLAttributes<HTMLSelectElement> & { label: string; children: ReactNode }) {
  return (
    <LabelledControl
      {...{ label, className }}
      control={(id, invalid) => (
        <select {...props} {...controlProps(id, invalid, "bg-white")}>
          {children}
        </select>
      )}
    />
  );
}

export function Card({ children, className = "" }: { children: ReactNode; className?: string }) {
  return <div className={`rounded-lg border border-slate-200 bg-white p-4 shadow-sm ${className}`}>{children}</div>;
}

export function Spinner({ small = false }: { small?: boolean }) {
  return (
    <span
      aria-hidden
      className={`inline-block animate-spin rounded-full border-2 border-current border-t-transparent ${small ? "h-3 w-3" : "h-6 w-6"}`}
    />
  );
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <div role="status" className="flex items-center gap-3 p-6 text-slate-600">
      <Spinner /> {what}…
    </div>
  );
}

export function ErrorMessage({ error, retry }: { error: unknown; retry?: () => void }) {
  const message =
    error instanceof ApiError
      ? error.status >= 500 || error.status === 0
        ? `${error.message} (the service may be down; try again in a moment.)`
        : error.message
      : "Something went wrong.";
  return (
    <div role="alert" className="flex flex-wrap items-center gap-3 rounded-md border border-red-200 bg-red-50 p-4 text-red-800">
      <span>{message}</span>
      {retry && (
        <Button variant="secondary" onClick={retry}>
          Try again
        </Button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="rounded-md border border-dashed border-slate-300 p-6 text-center text-slate-600">{children}</p>;
}

export function Badge({ status }: { status: string }) {
  const colors: Record<string, string> = {
    pending: "bg-amber-100 text-amber-800",
    confirmed: "bg-green-100 text-green-800",
    rejected: "bg-red-100 text-red-800",
    cancelled: "bg-slate-200 text-slate-700",
  };
  return (
    <span data-testid="order-status" className={`rounded-full px-2 py-0.5 text-xs font-semibold ${colors[status] ?? "bg-slate-100"}`}>
      {status}
    </span>
  );
}

export function PageTitle({ children }: { children: ReactNode }) {
  return <h1 className="mb-4 text-2xl font-bold">{children}</h1>;
}

/** The API's field errors of `error` (a failed mutation), by field name. */
export function fieldErrors(error: unknown): Record<string, string[]> {
  return error instanceof ApiError ? error.fields : {};
}

/** The message of an error that is not about one field. */
export function FormError({ error }: { error: unknown }) {
  if (!error) return null;
  const fields = fieldErrors(error);
  const text = error instanceof ApiError ? error.message : "Something went wrong.";
  return (
    <p role="alert" className="rounded-md bg-red-50 p-3 text-sm text-red-800" data-testid="form-error">
      {text}
      {Object.keys(fields).length > 0 && fields.non_field_errors ? ` ${fields.non_field_errors.join(" ")}` : ""}
    </p>
  );
}
