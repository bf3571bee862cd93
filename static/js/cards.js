// Which cards of a list are open (on a phone a closed card is its summary row).
// This is the page's own state, kept across re-renders by id; it is not an op.

export class OpenCards {
  constructor(buttonSelector) {
    this.buttonSelector = buttonSelector;
    this.ids = new Set();
  }

  toggle(node, id) {
    if (this.ids.has(id)) this.ids.delete(id);
    else this.ids.add(id);
    this.show(node, id);
  }

  show(node, id) {
    const open = this.ids.has(id);
    node.classList.toggle('is-open', open);
    node.querySelector(this.buttonSelector).setAttribute('aria-expanded', String(open));
  }
}
