// Owner: client (browser page). The page's one modal dialog (the close question, the session
// switcher, the shortcuts): a titled box over the page, Esc or a click outside closes it, and the
// focus goes back where it was. Text only: nothing shown here is parsed as HTML.

export interface DialogButton<T> {
  label: string;
  value: T;
  primary?: boolean;
}

export interface Dialog<T> {
  readonly element: HTMLElement;
  /** Resolves with the chosen button's value, or null when dismissed (Esc, outside, close()). */
  readonly result: Promise<T | null>;
  close(value?: T | null): void;
}

let open: Dialog<unknown> | null = null;

/** Whether a dialog is open (the workspace's shortcuts then stand aside). */
export const dialogOpen = (): boolean => open !== null;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

/** Opens a dialog (closing any other first) with `body` and `buttons`; the first primary button has the focus. */
export function openDialog<T>(title: string, body: (Node | string)[], buttons: DialogButton<T>[], label = title): Dialog<T> {
  open?.close(null);
  const previous = document.activeElement as HTMLElement | null;
  const backdrop = el("div", { className: "backdrop" });
  const box = el("div", { className: "dialog" });
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-modal", "true");
  box.setAttribute("aria-label", label);
  const heading = el("h2", { textContent: title });
  const row = el("div", { className: "buttons" });
  box.append(heading, ...body, row);
  backdrop.append(box);
  let resolve: (v: T | null) => void = () => {};
  const result = new Promise<T | null>((r) => (resolve = r));
  const dialog: Dialog<T> = {
    element: box,
    result,
    close(value = null) {
      if (open !== (dialog as Dialog<unknown>)) return;
      open = null;
      backdrop.remove();
      document.removeEventListener("keydown", keydown, true);
      previous?.focus?.();
      resolve(value);
    },
  };
  for (const b of buttons) {
    const button = el("button", { type: "button", textContent: b.label, className: b.primary ? "primary" : "" });
    button.addEventListener("click", () => dialog.close(b.value));
    row.append(button);
  }
  const keydown = (e: KeyboardEvent) => {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      dialog.close(null);
    }
  };
  document.addEventListener("keydown", keydown, true);
  backdrop.addEventListener("mousedown", (e) => e.target === backdrop && dialog.close(null));
  document.body.append(backdrop);
  open = dialog as Dialog<unknown>;
  (row.querySelector<HTMLButtonElement>("button.primary") ?? row.querySelector("button") ?? box.querySelector<HTMLElement>("button, input, select"))?.focus();
  return dialog;
}
