// The API client both pages share: same origin, JSON in and out, the bearer token kept
// per page in sessionStorage (closing the tab logs out), and every non-2xx answer thrown
// as an ApiError carrying the problem+json the app sent.

/** An answer that was not 2xx: `problem` is the app's problem document (RFC 9457). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** A signed-in session, kept under `name` (the shop and the admin keep their own). */
export class Session {
  constructor(name) {
    this.key = `fusion.${name}.token`;
  }
  get token() {
    return sessionStorage.getItem(this.key);
  }
  set token(value) {
    if (value) sessionStorage.setItem(this.key, value);
    else sessionStorage.removeItem(this.key);
  }
  /** The token's claims (`sub`, `role`, `tenant`, `exp`), for display only: the app checks them. */
  get claims() {
    const token = this.token;
    if (!token) return null;
    try {
      const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const claims = JSON.parse(atob(payload));
      if (claims.exp && claims.exp * 1000 < Date.now()) {
        this.token = null;
        return null;
      }
      return claims;
    } catch {
      this.token = null;
      return null;
    }
  }
}

/** A fresh Idempotency-Key. */
function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The last write whose outcome is unknown (no answer, or a 5xx): the same request sent
// again — the reader clicking "Place order" once more — reuses its key, so the app
// answers it once instead of writing it twice.
let unanswered = null;

function keyFor(path, payload) {
  if (unanswered && unanswered.path === path && unanswered.payload === payload) {
    return unanswered.key;
  }
  return newKey();
}

/**
 * Calls the API: `body` is sent as JSON, `session`'s token as the bearer, and a POST
 * carries an Idempotency-Key unless `keyed` is false (a read sent as a POST, a login).
 * Resolves to the parsed JSON (or null for an empty answer), rejects with ApiError. A 401
 * forgets the token.
 */
export async function call(method, path, { body, session, raw = false, keyed = true } = {}) {
  const headers = { accept: "application/json" };
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined) headers["content-type"] = "application/json";
  const key = method === "POST" && keyed ? keyFor(path, payload) : null;
  if (key) headers["idempotency-key"] = key;
  const token = session?.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload });
  } catch (error) {
    if (key) unanswered = { path, payload, key };
    throw new ApiError(0, { title: "Network error", detail: `The app did not answer: ${error.message}` });
  }
  if (key) unanswered = response.status >= 500 ? { path, payload, key } : null;
  if (!response.ok) {
    let problem;
    try {
      problem = await response.json();
    } catch {
      problem = { title: response.statusText, status: response.status };
    }
    if (response.status === 401 && session) session.token = null;
    throw new ApiError(response.status, problem);
  }
  if (raw) return response;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
