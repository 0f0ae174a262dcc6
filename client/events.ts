// Owner: client (browser page). A small typed event emitter: how a connection tells the features
// built on it (badge, file transfer, the page's address and title) what happened, so it never
// calls them itself. Starts nothing.

import type { IDisposable } from "@xterm/xterm";

/** `E` maps each event's name to what its listeners receive. */
export class Emitter<E> {
  private readonly listeners = new Map<keyof E, Set<(value: never) => void>>();

  /** Calls `fn` on each `type` event until the returned handle is disposed. */
  on<K extends keyof E>(type: K, fn: (value: E[K]) => void): IDisposable {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(fn);
    return { dispose: () => void set.delete(fn) };
  }

  emit<K extends keyof E>(type: K, value: E[K]): void {
    // A copy: a listener may unsubscribe (or subscribe another) while the event is delivered.
    for (const fn of [...(this.listeners.get(type) ?? [])]) (fn as (value: E[K]) => void)(value);
  }

  /** Drops every listener (the emitter's owner was disposed). */
  clear(): void {
    this.listeners.clear();
  }
}
