// The typed API client: openapi-fetch over the schema generated from the gateway's merged
// OpenAPI document (src/api/schema.d.ts, `npm run gen:api`), so an API change breaks the build.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Product = Schemas["ProductOut"];
export type Order = Schemas["OrderOut"];
export type Cart = Schemas["CartOut"];
export type User = Schemas["User"];
export type Category = Schemas["CategoryOut"];
export type Sales = Schemas["SalesOut"];

/** The platform's one error shape: {"error": {"code", "message", "fields"?}}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: Record<string, string[]> = {},
  ) {
    super(message);
  }

  static from(status: number, body: unknown): ApiError {
    const error = (body as { error?: { code?: string; message?: string; fields?: unknown } } | null)
      ?.error;
    if (error && typeof error.message === "string") {
      const fields = (error.fields ?? {}) as Record<string, string[]>;
      return new ApiError(status, error.code ?? "error", error.message, fields);
    }
    if (status === 0) return new ApiError(0, "network", "The shop cannot be reached. Check your connection and try again.");
    return new ApiError(status, "error", `The server answered ${status}. Please try again.`);
  }
}

// --- the access token lives in memory only ----------------------------------------------
let accessToken: string | null = null;
let refreshing: Promise<string | null> | null = null;
const listeners = new Set<(token: string | null) => void>();

export function getAccessToken(): string | null {
  return accessToken;
}

export function setAccessToken(token: string | null): void {
  accessToken = token;
  for (const listener of listeners) listener(token);
}

export function onAccessToken(listener: (token: string | null) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Seconds until the token's `exp` (0 when unreadable). */
export function secondsLeft(token: string): number {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return Math.max(0, payload.exp - Date.now() / 1000);
  } catch {
    return 0;
  }
}

/** Trade the HttpOnly refresh cookie for a new access token; one request at a time. */
export function refreshAccessToken(): Promise<string | null> {
  refreshing ??= (async () => {
    try {
      const response = await fetch("/api/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
        credentials: "same-origin",
      });
      if (!response.ok) {
        setAccessToken(null);
        return null;
      }
      const pair = (await response.json()) as { access: string };
      setAccessToken(pair.access);
      return pair.access;
    } catch {
      return accessToken; // offline: keep what we have; a 401 later logs out
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

const RETRIED = "x-msh-retried";

const auth: Middleware = {
  onRequest({ request }) {
    if (accessToken && !request.headers.has("Authorization")) {
      request.headers.set("Authorization", `Bearer ${accessToken}`);
    }
    return request;
  },
  async onResponse({ request, response }) {
    const url = new URL(request.url, window.location.origin);
    if (
      response.status !== 401 ||
      url.pathname.startsWith("/api/auth/") ||
      request.headers.has(RETRIED) ||
      accessToken === null
    ) {
      return response;
    }
    // Once on a 401: refresh, then try again; a failed refresh logs out (token cleared).
    const token = await refreshAccessToken();
    if (!token) return response;
    const retry = new Request(request, { headers: new Headers(request.headers) });
    retry.headers.set("Authorization", `Bearer ${token}`);
    retry.headers.set(RETRIED, "1");
    return fetch(retry);
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: "same-origin" });
api.use(auth);

/** The data of an openapi-fetch result, or throw its ApiError. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    throw ApiError.from(result.response.status, result.error);
  }
  return result.data as T;
}

/** Network failures become ApiError too, so every screen shows a message, never a blank page. */
export async function call<T>(
  promise: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result;
  try {
    result = await promise;
  } catch {
    throw ApiError.from(0, null);
  }
  return unwrap(result);
}

export function formatMoney(amount: string | null | undefined, currency: string | null | undefined): string {
  if (amount == null) return "—";
  const value = Number(amount);
  if (!currency) return amount;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(value);
  } catch {
    return `${amount} ${currency}`;
  }
}
