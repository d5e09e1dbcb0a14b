// Building DOM nodes without HTML strings: text is always text (no injection from listings).

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "checked" || key === "disabled" || key === "hidden" || key === "open") node[key] = Boolean(value);
    else if (key === "value") node.value = value;
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let ids = 0;

// A labelled form control: <label for> + control + optional hint, in one block.
export function field(label, control, hint = null) {
  if (!control.id) control.id = `f${++ids}`;
  const parts = [el("label", { for: control.id }, label), control];
  if (hint) {
    const hintId = `${control.id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(el("small", { id: hintId, class: "hint" }, hint));
  }
  return el("div", { class: "field" }, ...parts);
}

// A definition list from [term, description] pairs (descriptions may be nodes); null rows skipped.
export function terms(rows, attrs = {}) {
  const list = el("dl", { class: "terms", ...attrs });
  for (const row of rows) {
    if (!row) continue;
    const [term, description, testid] = row;
    list.append(el("dt", {}, term), el("dd", testid ? { "data-testid": testid } : {}, description));
  }
  return list;
}
