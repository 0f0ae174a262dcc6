// Owner: client (browser page). The status badge: a connection's state as text (connecting, live,
// view only or watching, reconnecting in N s, the server's restart counting down, ended and why),
// and notices shown in it for a moment.
// createBadge() subscribes to a connection; the page's other features pass notices to flash().

import type { Connection } from "./connection.ts";

const NOTICE_MS = 2000;
/** While a reconnect is scheduled, the countdown is redrawn this often. */
const COUNTDOWN_MS = 250;

/** Shows a short text to the user for a moment: the badge's flash(), handed to the features that tell the user things. */
export type Notify = (text: string) => void;

export interface Badge {
  /** Shows `text` in the badge for a moment. */
  flash: Notify;
  /** Stops the badge's timers and its subscriptions (the element stays). */
  dispose(): void;
}

export function createBadge(badge: HTMLElement, conn: Connection): Badge {
  let notice = "";
  let noticeTimer: ReturnType<typeof setTimeout> | undefined;
  let countdown: ReturnType<typeof setInterval> | undefined;

  function render(): void {
    let text: string;
    switch (conn.state) {
      case "connecting":
        text = "connecting";
        break;
      case "live":
        text = conn.mode === "view" ? "live · view only" : conn.writer ? "live" : "live · watching (typing elsewhere)";
        if (conn.drainingAt !== null) {
          // The server said it will end this session (an upgrade, a scale-down): say when, counting down.
          const s = Math.max(0, Math.ceil((conn.drainingAt - Date.now()) / 1000));
          text = `this server restarts in ${s} s${conn.drainingReason ? ` (${conn.drainingReason.slice(0, 60)})` : ""}`;
        }
        break;
      case "reconnecting": {
        const s = conn.retryAt === null ? 0 : Math.ceil((conn.retryAt - Date.now()) / 1000);
        text = s > 0 ? `reconnecting in ${s} s` : "reconnecting";
        break;
      }
      case "ended":
        text = conn.endedText;
    }
    const draining = conn.state === "live" && conn.drainingAt !== null;
    badge.dataset.state = notice ? "notice" : draining ? "draining" : conn.state;
    badge.textContent = notice || text;
    const counting = (conn.state === "reconnecting" && conn.retryAt !== null) || draining;
    if (counting && countdown === undefined) countdown = setInterval(render, COUNTDOWN_MS);
    if (!counting && countdown !== undefined) countdown = void clearInterval(countdown);
  }

  function flash(text: string): void {
    notice = text;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => {
      notice = "";
      render();
    }, NOTICE_MS);
    render();
  }

  const subs = [conn.on("state", render), conn.on("notice", flash)];
  render();
  return {
    flash,
    dispose() {
      for (const s of subs) s.dispose();
      clearTimeout(noticeTimer);
      clearInterval(countdown);
      countdown = undefined;
    },
  };
}
