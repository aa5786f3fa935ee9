// What both pages do when the reader starts something: a live region for its outcome, the
// controls locked while it runs (so it runs once at a time), forms that show their problems
// next to their fields, buttons that run one action, and "More …" buttons that append a
// list's next page. Where the pages differ (how a failure is shown, where a form's outcome
// goes), each passes its own policy to `forms`.

import { h, notice, showProblem, clearFieldErrors } from "./ui.js";

// Every navigation, the pages' own re-renders included (they dispatch `hashchange`): a
// control whose task navigated stays locked, since the coming render replaces it and a
// second click meanwhile would repeat the request (a second order, say). A new hash is
// seen at once in `location.hash`; its `hashchange` comes later.
let navigations = 0;
window.addEventListener("hashchange", () => {
  navigations += 1;
});

/** A live region for a call's outcome, placed next to what the reader acted on. */
export function outcome() {
  return h("div", { class: "outcome", "aria-live": "polite" });
}

/** An input turns read-only rather than disabled, so the focus stays where the reader put it. */
function lock(control, locked) {
  if (control instanceof HTMLInputElement) control.readOnly = locked;
  else control.disabled = locked;
}

/**
 * A page's `{ run, form, action, more }`, following its `policy`:
 * - `fail(region, error, scope)` shows a failure (by default its problem, in `region` and
 *   next to `scope`'s fields);
 * - `arrange(button, region)` is what follows a form's fields (by default the button, then
 *   the region).
 */
export function forms({
  fail = showProblem,
  arrange = (button, region) => [button, region],
} = {}) {
  /**
   * Runs `task()` with `controls` locked. `region`, and the field errors in `scope`, are
   * cleared first; a string `task` resolves to is shown in `region` as a notice.
   */
  async function run(controls, region, task, scope) {
    const before = [navigations, location.hash];
    for (const control of controls) lock(control, true);
    region.replaceChildren();
    if (scope) clearFieldErrors(scope);
    try {
      const message = await task();
      if (message) notice(region, message);
    } catch (error) {
      fail(region, error, scope);
    } finally {
      const stayed = navigations === before[0] && location.hash === before[1];
      if (stayed) for (const control of controls) lock(control, false);
    }
  }

  /**
   * A form whose submit button runs `task(form, region)` (see `run`), other attributes
   * going to the form. `novalidate`: the app's own messages, which name every bad field,
   * are the ones shown.
   */
  function form({ fields, submit, task, ...attributes }) {
    const region = outcome();
    const button = h("button", { type: "submit" }, submit);
    const element = h("form", {
      ...attributes,
      novalidate: true,
      onsubmit: (event) => {
        // The pages' CSP has form-action 'none': a form is never sent by the browser.
        event.preventDefault();
        if (!button.disabled) run([button], region, () => task(element, region), element);
      },
    }, fields, arrange(button, region));
    return element;
  }

  /** A button that runs `task()` (see `run`), after `confirm` when given. */
  function action(text, task, { region, confirm: question, class: className = "secondary" }) {
    const button = h("button", { type: "button", class: className }, text);
    button.addEventListener("click", () => {
      if (question && !window.confirm(question)) return;
      run([button], region, task);
    });
    return button;
  }

  /**
   * Appends the items of `first` (a page of the API), each drawn by `draw`, to `list`, and
   * returns a button named `text` that appends the next page (`load(cursor)`) while there
   * is one; null when there is none.
   */
  function more(list, first, { text, load, draw, region }) {
    list.append(...first.items.map(draw));
    let cursor = first.next_cursor;
    if (!cursor) return null;
    const button = action(text, async () => {
      const page = await load(cursor);
      const added = page.items.map(draw);
      list.append(...added);
      cursor = page.next_cursor;
      if (!cursor) {
        // The button had the focus and goes away: give it to the first new item, not the page.
        button.remove();
        added[0]?.querySelector("a, button")?.focus();
      }
    }, { region });
    return button;
  }

  return { run, form, action, more };
}
