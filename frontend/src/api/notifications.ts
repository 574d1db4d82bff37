// One notifications socket per tab (GET /ws/notifications through the gateway). A browser cannot
// set Authorization on a WebSocket, so the access token goes as the second subprotocol after
// "msh.bearer"; the server selects "msh.bearer" and never echoes the token. A renewed token is
// sent as {"type": "auth"} so the socket outlives the token it opened with. Delivery is at most
// once: after every reconnect the app re-reads what it shows over REST (onReconnect).

export type Notification =
  | { type: "order.status"; version: number; order_id: string; status: string; reason: string | null }
  | { type: "announcement"; version: number; text: string; audience: string; sent_at: string }
  | { type: "session.revoked"; version: number };

export interface SocketHandlers {
  onMessage(message: Notification): void;
  /** The session ended elsewhere (4401 after session.revoked): log out here. */
  onRevoked(): void;
  /** The token was refused or expired (4401 without session.revoked): get a fresh one. */
  onUnauthorized(): Promise<string | null>;
  /** Connected again after a drop: re-read state, anything may have been missed. */
  onReconnect(): void;
  /** Whether the socket is open now. */
  onOpenChange(open: boolean): void;
}

const UNAUTHORIZED = 4401;
const FORBIDDEN = 4403;
const MAX_BACKOFF_MS = 30_000;

export class NotificationSocket {
  private socket: WebSocket | null = null;
  private attempts = 0;
  private timer: number | undefined;
  private stopped = false;
  private revoked = false;
  private opened = false;

  constructor(
    private token: string,
    private readonly handlers: SocketHandlers,
  ) {
    this.open();
  }

  /** A renewed access token: used for the next connection, and sent on the open one. */
  renew(token: string): void {
    this.token = token;
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: "auth", token }));
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.socket?.close(1000);
  }

  private open(): void {
    const url = `${window.location.protocol === "https:" ? "wss" : "ws"}://${window.location.host}/ws/notifications`;
    const socket = new WebSocket(url, ["msh.bearer", this.token]);
    this.socket = socket;
    socket.onopen = () => {
      this.handlers.onOpenChange(true);
      if (this.opened) this.handlers.onReconnect();
      this.opened = true;
      this.attempts = 0;
    };
    socket.onmessage = (event: MessageEvent<string>) => {
      let message: Notification;
      try {
        message = JSON.parse(event.data) as Notification;
      } catch {
        return;
      }
      if (message.type === "session.revoked") this.revoked = true;
      this.handlers.onMessage(message);
    };
    socket.onclose = (event) => {
      this.handlers.onOpenChange(false);
      void this.closed(event.code);
    };
  }

  private async closed(code: number): Promise<void> {
    if (this.stopped) return;
    if (this.revoked) {
      this.stopped = true;
      this.handlers.onRevoked();
      return;
    }
    if (code === FORBIDDEN) return; // another user's token: nothing to retry
    if (code === UNAUTHORIZED) {
      const fresh = await this.handlers.onUnauthorized();
      if (!fresh) return; // logged out
      this.token = fresh;
    }
    // Exponential back-off with jitter: a restarted server is not met by every tab at once.
    const ceiling = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempts);
    this.attempts += 1;
    this.timer = window.setTimeout(() => this.open(), ceiling / 2 + Math.random() * (ceiling / 2));
  }
}
