// Signing in and creating an account. Both end where the reader was sent from (`next`).

import { call, query } from "./api.js";
import { h, field, link, values } from "./ui.js";
import { session, form, hinted, sessionChanged } from "./shop-kit.js";

/** Where to go after signing in: only one of this page's own routes. */
function nextPage(search) {
  const next = search.get("next") || "";
  return /^#\/(?!login|register)/.test(next) ? next : "#/";
}

async function signIn(email, password, next) {
  const answer = await call("POST", "/api/v1/auth/login", { body: { email, password }, keyed: false });
  session.token = answer.access_token;
  sessionChanged();
  // Replace: going back should not return to the sign-in form.
  location.replace(next);
}

/** A link to the other form, carrying `next` along. */
function other(hash, next, text) {
  return link(`${hash}${next === "#/" ? "" : query({ next })}`, text);
}

/** #/login?next= */
export async function login(view, _params, search) {
  const next = nextPage(search);
  const signInForm = form({
    class: "card narrow",
    fields: [
      field("Email", { name: "email", type: "email", autocomplete: "username", required: true }),
      field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    ],
    submit: "Sign in",
    task: (element) => {
      const { email = "", password = "" } = values(element);
      return signIn(email, password, next);
    },
  });
  view.show("Sign in",
    h("h1", {}, "Sign in"),
    signInForm,
    h("p", {}, "New here? ", other("#/register", next, "Create an account")));
}

/** #/register?next= */
export async function register(view, _params, search) {
  const next = nextPage(search);
  const registerForm = form({
    class: "card narrow",
    fields: [
      field("Name", { name: "name", autocomplete: "name", required: true }),
      field("Email", { name: "email", type: "email", autocomplete: "username", required: true }),
      hinted("Password", "At least 10 characters.", {
        name: "password", type: "password", autocomplete: "new-password", minlength: 10, required: true,
      }),
    ],
    submit: "Create account",
    task: async (element) => {
      const { name = "", email = "", password = "" } = values(element);
      await call("POST", "/api/v1/auth/register", { body: { name, email, password } });
      await signIn(email, password, next);
    },
  });
  view.show("Create an account",
    h("h1", {}, "Create an account"),
    registerForm,
    h("p", {}, "Have an account already? ", other("#/login", next, "Log in instead")));
}
