// The order's live status: GET /api/orders/{id}/events is Server-Sent Events behind a bearer
// token, which EventSource cannot send; fetch-event-source can.
import { fetchEventSource } from "@microsoft/fetch-event-source";
import { getAccessToken, refreshAccessToken } from "./client";

export interface StatusEvent {
  order_id: string;
  status: string;
  version: number;
  reasons?: Array<Record<string, unknown>> | null;
}

const FINAL = new Set(["confirmed", "rejected", "cancelled"]);

class Fatal extends Error {}
class Retry extends Error {}

/** Calls ``onStatus`` on every status change until a final status; returns a stop function. */
export function watchOrder(orderId: string, onStatus: (event: StatusEvent) => void): () => void {
  const controller = new AbortController();
  let refreshed = false;
  const open = (): void => {
    void fetchEventSource(`/api/orders/${encodeURIComponent(orderId)}/events`, {
      signal: controller.signal,
      openWhenHidden: true,
      headers: { Authorization: `Bearer ${getAccessToken() ?? ""}` },
      async onopen(response) {
        if (response.ok) return;
        if (response.status === 401 && !refreshed) {
          refreshed = true;
          await refreshAccessToken();
          throw new Retry();
        }
        throw new Fatal(`status stream: ${response.status}`);
      },
      onmessage(message) {
        if (message.event !== "status" || !message.data) return;
        const event = JSON.parse(message.data) as StatusEvent;
        onStatus(event);
        if (FINAL.has(event.status)) controller.abort();
      },
      onerror(error) {
        if (error instanceof Fatal || error instanceof Retry) throw error; // stop this stream
        return 1000; // reconnect after a second
      },
    }).catch((error: unknown) => {
      if (error instanceof Retry && !controller.signal.aborted) open(); // with the new token
    });
  };
  open();
  return () => controller.abort();
}
