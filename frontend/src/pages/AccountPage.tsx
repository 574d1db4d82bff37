import { useState } from "react";
import { useNavigate } from "react-router";
import { useMutation } from "@tanstack/react-query";
import { api, call, setAccessToken } from "../api/client";
import { useAuth } from "../auth";
import { Button, Card, Field, PasswordField, FormError, PageTitle, fieldErrors } from "../components/ui";

export function AccountPage() {
  const { user, reloadUser } = useAuth();
  const navigate = useNavigate();
  const [saved, setSaved] = useState(false);
  const profile = useMutation({
    mutationFn: (body: { name: string; email: string; current_password?: string }) =>
      call(api.PATCH("/api/users/me", { body })),
    onSuccess: async () => {
      await reloadUser();
      setSaved(true);
    },
  });
  const password = useMutation({
    mutationFn: (body: { current_password: string; new_password: string }) =>
      call(api.POST("/api/users/me/password", { body })),
  });
  const remove = useMutation({
    mutationFn: (body: { current_password: string }) => call(api.DELETE("/api/users/me", { body })),
    onSuccess: () => {
      setAccessToken(null);
      navigate("/", { replace: true });
    },
  });
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [email, setEmail] = useState<string | null>(null);
  if (!user) return null;
  // Changing the e-mail (and deleting the account) needs the password: a stolen token alone
  // must not take the account over.
  const emailChanged = email !== null && email.trim().toLowerCase() !== user.email;
  const profileErrors = fieldErrors(profile.error);
  const passwordErrors = fieldErrors(password.error);
  const removeErrors = fieldErrors(remove.error);
  return (
    <div className="grid gap-6 md:grid-cols-2">
      <Card>
        <PageTitle>Your profile</PageTitle>
        <form
          className="flex flex-col gap-4"
          onSubmit={(event) => {
            event.preventDefault();
            setSaved(false);
            const form = new FormData(event.currentTarget);
            profile.mutate({
              name: String(form.get("name")),
              email: String(form.get("email")),
              ...(emailChanged ? { current_password: String(form.get("current_password")) } : {}),
            });
          }}
        >
          <Field label="Name" name="name" defaultValue={user.name} error={profileErrors.name} />
          <Field
            label="E-mail"
            name="email"
            type="email"
            defaultValue={user.email}
            onChange={(event) => setEmail(event.currentTarget.value)}
            error={profileErrors.email}
          />
          {emailChanged && (
            <PasswordField
              label="Your password, to change the e-mail"
              name="current_password"
              required
              error={profileErrors.current_password}
            />
          )}
          {Object.keys(profileErrors).length === 0 && <FormError error={profile.error} />}
          {saved && <p role="status" className="text-green-700">Saved.</p>}
          <Button type="submit" busy={profile.isPending}>
            Save
          </Button>
        </form>
      </Card>
      <Card>
        <h2 className="mb-4 text-xl font-bold">Change password</h2>
        <form
          className="flex flex-col gap-4"
          onSubmit={(event) => {
            event.preventDefault();
            const form = new FormData(event.currentTarget);
            password.mutate({
              current_password: String(form.get("current_password")),
              new_password: String(form.get("new_password")),
            });
          }}
        >
          <PasswordField label="Current password" name="current_password" error={passwordErrors.current_password} />
          <PasswordField fresh label="New password" name="new_password" error={passwordErrors.new_password} />
          {Object.keys(passwordErrors).length === 0 && <FormError error={password.error} />}
          {password.isSuccess && <p role="status" className="text-green-700">Password changed.</p>}
          <Button type="submit" busy={password.isPending}>
            Change password
          </Button>
        </form>
      </Card>
      <Card className="md:col-span-2">
        <h2 className="mb-2 text-xl font-bold text-red-800">Delete account</h2>
        <p className="mb-3 text-sm text-slate-600">Your account is deleted and your order history anonymised. This cannot be undone.</p>
        {confirmDelete ? (
          <form
            className="flex flex-col gap-3"
            onSubmit={(event) => {
              event.preventDefault();
              const form = new FormData(event.currentTarget);
              remove.mutate({ current_password: String(form.get("current_password")) });
            }}
          >
            <PasswordField
              label="Your password, to delete the account"
              name="current_password"
              required
              error={removeErrors.current_password}
            />
            <div className="flex gap-2">
              <Button type="submit" variant="danger" busy={remove.isPending}>
                Yes, delete my account
              </Button>
              <Button type="button" variant="secondary" onClick={() => setConfirmDelete(false)}>
                Keep it
              </Button>
            </div>
          </form>
        ) : (
          <Button variant="danger" onClick={() => setConfirmDelete(true)}>
            Delete my account
          </Button>
        )}
        {Object.keys(removeErrors).length === 0 && <FormError error={remove.error} />}
      </Card>
    </div>
  );
}
