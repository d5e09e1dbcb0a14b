// The status line (role=status): what the page is doing, what went well, what failed.
const line = () => document.getElementById("status");

export function setStatus(text, kind = "info") {
  const node = line();
  node.textContent = text;
  node.dataset.state = kind;
}

export const busy = { count: 0 };

// Run one user action: busy while it runs (live refreshes wait), its error on the status line
// and, given a form's error line (`shown`), there too, next to what was typed.
export async function act(label, work, { shown = null } = {}) {
  busy.count++;
  if (shown) shown.textContent = "";
  try {
    setStatus(`${label}…`, "busy");
    await work();
  } catch (err) {
    setStatus(`${label} failed: ${friendly(err)}`, "error");
    if (shown) shown.textContent = friendly(err);
  } finally {
    busy.count--;
  }
}

function friendly(err) {
  const declined = (e) => e && (e.code === 4001 || e.name === "UserRejectedRequestError");
  if (declined(err) || (err && typeof err.walk === "function" && err.walk(declined))) return "you declined in your wallet";
  const text = (err && (err.details || err.shortMessage || err.message)) || String(err);
  return text.split("\n")[0];
}
