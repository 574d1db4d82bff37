// Who is logged in. The access token is kept in memory (api/client.ts); the refresh token is
// an HttpOnly cookie set by mainapp, so a reload restores the session without scripts ever
// seeing it. The access token is refreshed silently a little before it expires.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import {
  api,
  call,
  getAccessToken,
  onAccessToken,
  refreshAccessToken,
  secondsLeft,
  setAccessToken,
  type User,
} from "./api/client";

interface AuthState {
  user: User | null;
  ready: boolean;
  isStaff: boolean;
  login(email: string, password: string): Promise<void>;
  logout(): Promise<void>;
  reloadUser(): Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [ready, setReady] = useState(false);
  const [token, setToken] = useState<string | null>(getAccessToken());
  const queryClient = useQueryClient();

  useEffect(() => onAccessToken(setToken), []);

  const reloadUser = useCallback(async () => {
    if (!getAccessToken()) {
      setUser(null);
      return;
    }
    try {
      setUser(await call(api.GET("/api/users/me")));
    } catch {
      setUser(null);
    }
  }, []);

  // On start: the refresh cookie, if any, restores the session. mainapp sets the readable
  // msh_session hint beside the HttpOnly cookie: without it there is nothing to restore, and a
  // visitor who never logged in sends no refresh (it could only fail).
  useEffect(() => {
    if (!document.cookie.split("; ").some((cookie) => cookie.startsWith("msh_session="))) {
      setReady(true);
      return;
    }
    let cancelled = false;
    refreshAccessToken()
      .then(() => (cancelled ? undefined : reloadUser()))
      .finally(() => !cancelled && setReady(true));
    return () => {
      cancelled = true;
    };
  }, [reloadUser]);

  // Silent refresh shortly before expiry; a failed refresh logs out.
  useEffect(() => {
    if (!token) {
      setUser(null);
      return;
    }
    const delay = Math.max(5, secondsLeft(token) - 30) * 1000;
    const timer = window.setTimeout(() => void refreshAccessToken(), delay);
    return () => window.clearTimeout(timer);
  }, [token]);

  const login = useCallback(
    async (email: string, password: string) => {
      const pair = await call(api.POST("/api/auth/login", { body: { email, password } }));
      setAccessToken(pair.access);
      await reloadUser();
      queryClient.clear();
    },
    [reloadUser, queryClient],
  );

  const logout = useCallback(async () => {
    try {
      // No body: mainapp revokes the refresh token from the cookie and clears it.
      await fetch("/api/auth/logout", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
        credentials: "same-origin",
      });
    } finally {
      setAccessToken(null);
      setUser(null);
      queryClient.clear();
    }
  }, [queryClient]);

  const value = useMemo<AuthState>(
    () => ({
      user: token ? user : null,
      ready,
      isStaff: Boolean(token && user?.roles?.includes("staff")),
      login,
      logout,
      reloadUser,
    }),
    [user, ready, token, login, logout, reloadUser],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error("useAuth outside AuthProvider");
  return state;
}
