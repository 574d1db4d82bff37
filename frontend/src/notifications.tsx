// The notifications area: one socket per tab while logged in, toasts for what arrives, and a
// bell with the last few. Order status messages also refresh the order pages' data.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { getAccessToken, onAccessToken, refreshAccessToken } from "./api/client";
import { NotificationSocket, type Notification } from "./api/notifications";
import { useAuth } from "./auth";

const KEPT = 5;
const TOAST_MS = 8000;

export interface ShownNotification {
  id: number;
  text: string;
}

interface NotificationsState {
  /** The socket is open: what is sent now arrives. */
  live: boolean;
  recent: ShownNotification[];
  toasts: ShownNotification[];
  dismiss(id: number): void;
}

const NotificationsContext = createContext<NotificationsState | null>(null);

function describe(message: Notification): string | null {
  switch (message.type) {
    case "order.status":
      return `Order ${message.order_id.slice(0, 8)} ${message.status}${message.reason ? ` (${message.reason})` : ""}`;
    case "announcement":
      return message.text;
    default:
      return null;
  }
}

export function NotificationsProvider({ children }: { children: ReactNode }) {
  const { user, logout } = useAuth();
  const queryClient = useQueryClient();
  const [recent, setRecent] = useState<ShownNotification[]>([]);
  const [toasts, setToasts] = useState<ShownNotification[]>([]);
  const [live, setLive] = useState(false);
  const counter = useRef(0);

  const dismiss = useCallback((id: number) => setToasts((shown) => shown.filter((toast) => toast.id !== id)), []);

  const show = useCallback(
    (text: string) => {
      const item = { id: ++counter.current, text };
      setRecent((items) => [item, ...items].slice(0, KEPT));
      setToasts((shown) => [...shown, item]);
      window.setTimeout(() => dismiss(item.id), TOAST_MS);
    },
    [dismiss],
  );

  const userId = user?.id;
  useEffect(() => {
    const token = getAccessToken();
    if (!userId || !token) return;
    const socket = new NotificationSocket(token, {
      onMessage(message) {
        if (message.type === "order.status") {
          void queryClient.invalidateQueries({ queryKey: ["order", message.order_id] });
          void queryClient.invalidateQueries({ queryKey: ["orders"] });
        }
        const text = describe(message);
        if (text) show(text);
      },
      onRevoked: () => void logout(),
      onUnauthorized: () => refreshAccessToken(),
      onReconnect: () => void queryClient.invalidateQueries(),
      onOpenChange: setLive,
    });
    const unsubscribe = onAccessToken((fresh) => fresh && socket.renew(fresh));
    return () => {
      unsubscribe();
      socket.stop();
      setLive(false);
    };
  }, [userId, logout, queryClient, show]);

  const value = useMemo(() => ({ live, recent, toasts, dismiss }), [live, recent, toasts, dismiss]);
  return <NotificationsContext.Provider value={value}>{children}</NotificationsContext.Provider>;
}

export function useNotifications(): NotificationsState {
  const state = useContext(NotificationsContext);
  if (!state) throw new Error("useNotifications outside NotificationsProvider");
  return state;
}

/** The toasts, in a polite live region so screen readers announce them. */
export function Toasts() {
  const { toasts, dismiss } = useNotifications();
  return (
    <div role="region" aria-live="polite" aria-label="Notifications" className="fixed bottom-4 right-4 z-50 flex w-80 flex-col gap-2">
      {toasts.map((toast) => (
        <div key={toast.id} role="status" className="flex items-start gap-2 rounded-md border border-slate-200 bg-white p-3 text-sm shadow-lg">
          <span className="flex-1">{toast.text}</span>
          <button className="text-slate-500 hover:text-slate-800" aria-label="Dismiss" onClick={() => dismiss(toast.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

/** The bell: how many arrived, and the last few on demand. */
export function Bell() {
  const { live, recent } = useNotifications();
  const [open, setOpen] = useState(false);
  return (
    <div className="relative">
      <button
        className="rounded px-2 py-1 text-sm text-slate-700 hover:bg-slate-100"
        aria-expanded={open}
        aria-controls="recent-notifications"
        data-live={live}
        title={live ? "Live updates on" : "Reconnecting…"}
        onClick={() => setOpen(!open)}
      >
        Notifications{recent.length > 0 ? ` (${recent.length})` : ""}
      </button>
      {open && (
        <ul
          id="recent-notifications"
          aria-label="Recent notifications"
          className="absolute right-0 z-40 mt-1 w-72 rounded-md border border-slate-200 bg-white p-2 text-sm shadow-lg"
        >
          {recent.length === 0 ? <li className="text-slate-500">Nothing yet.</li> : recent.map((item) => <li key={item.id} className="border-b border-slate-100 py-1 last:border-0">{item.text}</li>)}
        </ul>
      )}
    </div>
  );
}
