import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useMutation } from "@tanstack/react-query";
import { ApiError, api, call } from "../api/client";
import { useAuth } from "../auth";
import { Button, Card, Field, PasswordField, FormError, PageTitle, fieldErrors } from "../components/ui";

function formValues(event: FormEvent<HTMLFormElement>): Record<string, string> {
  event.preventDefault();
  return Object.fromEntries([...new FormData(event.currentTarget).entries()].map(([k, v]) => [k, String(v)]));
}

function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function LoginPage() {
  const { login } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const mutation = useMutation({
    mutationFn: (values: Record<string, string>) => login(values.email, values.password),
    onSuccess: () => navigate(safeNext(params.get("next")), { replace: true }),
  });
  const fields = fieldErrors(mutation.error);
  // Wrong e-mail or password has no field: its message goes next to the password.
  const credentials = mutation.error instanceof ApiError && mutation.error.code === "invalid_credentials";
  return (
    <Card className="mx-auto max-w-md">
      <PageTitle>Log in</PageTitle>
      <form className="flex flex-col gap-4" onSubmit={(event) => mutation.mutate(formValues(event))} noValidate>
        <Field label="E-mail" name="email" type="email" autoComplete="email" required error={fields.email} />
        <PasswordField
          label="Password"
          name="password"
          required
          error={credentials ? (mutation.error as ApiError).message : fields.password}
        />
        {!credentials && Object.keys(fields).length === 0 && <FormError error={mutation.error} />}
        <Button type="submit" busy={mutation.isPending}>
          Log in
        </Button>
      </form>
      <p className="mt-4 flex justify-between text-sm">
        <Link className="text-indigo-700 underline" to="/forgot-password">
          Forgot your password?
        </Link>
        <Link className="text-indigo-700 underline" to="/register">
          Create an account
        </Link>
      </p>
    </Card>
  );
}

export function RegisterPage() {
  const { login } = useAuth();
  const navigate = useNavigate();
  const mutation = useMutation({
    mutationFn: async (values: Record<string, string>) => {
      await call(api.POST("/api/auth/register", { body: { email: values.email, password: values.password, name: values.name } }));
      await login(values.email, values.password);
    },
    onSuccess: () => navigate("/", { replace: true }),
  });
  const fields = fieldErrors(mutation.error);
  return (
    <Card className="mx-auto max-w-md">
      <PageTitle>Create an account</PageTitle>
      <form className="flex flex-col gap-4" onSubmit={(event) => mutation.mutate(formValues(event))} noValidate>
        <Field label="Name" name="name" autoComplete="name" error={fields.name} />
        <Field label="E-mail" name="email" type="email" autoComplete="email" required error={fields.email} />
        <PasswordField
          fresh
          label="Password"
          name="password"
          required
          error={fields.password}
          hint="At least 12 characters; not a common password."
        />
        {Object.keys(fields).length === 0 && <FormError error={mutation.error} />}
        <Button type="submit" busy={mutation.isPending}>
          Register
        </Button>
      </form>
    </Card>
  );
}

export function ForgotPasswordPage() {
  const mutation = useMutation({
    mutationFn: (values: Record<string, string>) =>
      call(api.POST("/api/auth/password-reset", { body: { email: values.email } })),
  });
  const fields = fieldErrors(mutation.error);
  return (
    <Card className="mx-auto max-w-md">
      <PageTitle>Reset your password</PageTitle>
      {mutation.isSuccess ? (
        <p role="status">{mutation.data.detail}</p>
      ) : (
        <form className="flex flex-col gap-4" onSubmit={(event) => mutation.mutate(formValues(event))} noValidate>
          <Field label="E-mail" name="email" type="email" autoComplete="email" required error={fields.email} />
          {Object.keys(fields).length === 0 && <FormError error={mutation.error} />}
          <Button type="submit" busy={mutation.isPending}>
            E-mail me a link
          </Button>
        </form>
      )}
    </Card>
  );
}

export function ResetPasswordPage() {
  const [params] = useSearchParams();
  const [done, setDone] = useState(false);
  const token = params.get("token") ?? "";
  const mutation = useMutation({
    mutationFn: (values: Record<string, string>) =>
      call(api.POST("/api/auth/password-reset/confirm", { body: { token, password: values.password } })),
    onSuccess: () => setDone(true),
  });
  const fields = fieldErrors(mutation.error);
  return (
    <Card className="mx-auto max-w-md">
      <PageTitle>Choose a new password</PageTitle>
      {done ? (
        <p role="status">
          Your password was changed.{" "}
          <Link className="text-indigo-700 underline" to="/login">
            Log in
          </Link>
        </p>
      ) : (
        <form className="flex flex-col gap-4" onSubmit={(event) => mutation.mutate(formValues(event))} noValidate>
          {fields.token && (
            <p role="alert" className="text-sm text-red-700">
              {fields.token.join(" ")} <Link className="underline" to="/forgot-password">Ask for a new link</Link>
            </p>
          )}
          <PasswordField fresh label="New password" name="password" required error={fields.password} />
          {Object.keys(fields).length === 0 && <FormError error={mutation.error} />}
          <Button type="submit" busy={mutation.isPending}>
            Set password
          </Button>
        </form>
      )}
    </Card>
  );
}
