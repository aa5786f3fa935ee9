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

/** A fresh key for one user action, so a retried POST is answered once (Idempotency-Key). */
function idempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Calls the API: `body` is sent as JSON, `session`'s token as the bearer. Resolves to the
 * parsed JSON (or null for an empty answer), rejects with ApiError. A 401 forgets the token.
 */
export async function call(method, path, { body, session, raw = false } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method === "POST") headers["idempotency-key"] = idempotencyKey();
  const token = session?.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, { title: "Network error", detail: `The app did not answer: ${error.message}` });
  }
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
