// The panel as a popover under the bell (the element's default layout): the bell opens and closes it, and so
// do Escape, a press outside the element and the close button. Fixed to the viewport under the bell, so an
// ancestor's `overflow: hidden` cannot clip it, and kept inside the viewport at any width.
const MARGIN = 8;

export class Popover {
  /** `root`: the element's skeleton (inbox-template.js) with its bell and panel. */
  constructor(host, root) {
    this.host = host;
    this.root = root;
    this.panel = root.querySelector("#panel");
    this.bell = root.querySelector("#bell");
    this._outside = (event) => {
      if (!event.composedPath().includes(host)) this.close(false);
    };
    this._escape = (event) => {
      if (event.key === "Escape") this.close(true);
    };
    this._place = () => this.place();
    root.querySelector("#close-panel").addEventListener("click", () => this.close(true));
  }

  get isOpen() {
    return !this.panel.hidden;
  }

  /** Open when closed, else close; answers whether it is open now. */
  toggle() {
    if (this.isOpen) this.close(false);
    else this.open();
    return this.isOpen;
  }

  open() {
    if (this.isOpen) return;
    this.panel.hidden = false;
    this.bell.setAttribute("aria-expanded", "true");
    this.place();
    document.addEventListener("pointerdown", this._outside, true);
    this.root.addEventListener("keydown", this._escape);
    window.addEventListener("resize", this._place);
    window.addEventListener("scroll", this._place, { capture: true, passive: true });
  }

  /** Close it; `focusBell` when the user closed it from inside (the focus would otherwise be lost). */
  close(focusBell) {
    if (!this.isOpen) return;
    this.panel.hidden = true;
    this.bell.setAttribute("aria-expanded", "false");
    document.removeEventListener("pointerdown", this._outside, true);
    this.root.removeEventListener("keydown", this._escape);
    window.removeEventListener("resize", this._place);
    window.removeEventListener("scroll", this._place, { capture: true });
    if (focusBell) this.bell.focus();
  }

  /** Under the bell, its right edge at the bell's, inside the viewport; as tall as the room below allows. */
  place() {
    const bell = this.bell.getBoundingClientRect();
    const width = Math.min(this.panel.offsetWidth, innerWidth - 2 * MARGIN);
    const left = Math.max(MARGIN, Math.min(bell.right - width, innerWidth - width - MARGIN));
    const top = Math.min(bell.bottom + MARGIN, innerHeight - 160);
    Object.assign(this.panel.style, { left: `${left}px`, top: `${top}px`, maxHeight: `${innerHeight - top - MARGIN}px` });
  }
}
