// This API, on our own origin: the only server the page talks to (besides the wallet).

export async function api(path, options = {}) {
  const init = { headers: { "Content-Type": "application/json" }, ...options };
  if (init.body && typeof init.body !== "string" && !(init.body instanceof FormData)) init.body = JSON.stringify(init.body);
  if (init.body instanceof FormData) delete init.headers;
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
  return body;
}

export const post = (path, body) => api(path, { method: "POST", body });

// Store a file on IPFS through the API (pinned); its CID.
export async function upload(file) {
  const data = new FormData();
  data.append("file", file);
  return (await api("/api/ipfs/upload", { method: "POST", body: data })).cid;
}
