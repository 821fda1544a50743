// Delete with undo. DELETE is permanent, so the inbox hides the message at once, offers "Undo"
// for a few seconds, and only then sends the DELETE; leaving the page sends the waiting ones.
import { undoToast } from "./inbox-toasts.js";

export class PendingDeletes {
  /**
   * Undo toasts go in `toasts`, in `t`'s words. `on.hide(id)`, `on.restore(id)` (undone or refused),
   * `on.deleted(id)` (gone on the server).
   */
  constructor(client, ms, { toasts, t }, on) {
    this.client = client;
    this.ms = ms;
    this.toasts = toasts;
    this.t = t;
    this.on = on;
    this._waiting = new Map(); // id → drop(): removes its undo toast
  }

  has(id) {
    return this._waiting.has(id);
  }

  start(id) {
    this.on.hide(id);
    const drop = undoToast(this.toasts, this.t, this.ms, {
      onUndo: () => {
        this._waiting.delete(id);
        this.on.restore(id);
      },
      onTimeout: () => this._send(id, false),
    });
    this._waiting.set(id, drop);
  }

  /** Deleted elsewhere meanwhile: nothing left to undo or send. */
  forget(id) {
    const drop = this._waiting.get(id);
    if (drop) drop();
    this._waiting.delete(id);
  }

  /** Send every waiting delete now (`keepalive`: the request outlives a page being left). */
  flush(keepalive) {
    [...this._waiting.entries()].forEach(([id, drop]) => {
      drop();
      this._send(id, keepalive);
    });
  }

  _send(id, keepalive) {
    this._waiting.delete(id);
    this.client.deleteMessage(id, { keepalive }).then(() => this.on.deleted(id), (error) => {
      if (error.status === 404) this.on.deleted(id); // already gone
      else this.on.restore(id);
    });
  }
}
