// Keyed list rendering: one DOM node per item id, reused across renders so a
// control being typed in keeps its focus and caret.

/**
 * Make `list` show `items` in order. `nodes` maps id -> node between calls;
 * create(id) builds a node, fill(node, item, index) updates it.
 */
export function renderKeyed(list, items, nodes, create, fill) {
  const seen = new Set();
  let previous = null;
  items.forEach((item, index) => {
    seen.add(item.id);
    const node = nodes.get(item.id) || create(item.id);
    nodes.set(item.id, node);
    fill(node, item, index);
    const wanted = previous ? previous.nextElementSibling : list.firstElementChild;
    if (wanted !== node) list.insertBefore(node, wanted);
    previous = node;
  });
  for (const [id, node] of nodes) {
    if (!seen.has(id)) { node.remove(); nodes.delete(id); }
  }
}
