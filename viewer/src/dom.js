// Small helpers of the page: elements, the status line, the words in the view's language,
// table rows and URLs relative to viewer.json. Browser only (used when called, not at import).
import { labelIn, translate } from "./i18n.js";
import { app, encodeHash } from "./state.js";

export const $ = (id) => document.getElementById(id);

/** The interface word `key` in the view's language. */
export function t(key) {
  return translate(app.state ? app.state.lang : "en", key);
}

/** A {en, ja} label of viewer.json in the view's language. */
export function word(label) {
  return labelIn(label, app.state.lang);
}

export function setStatus(text) { $("status").textContent = text; }

/** Keep the view state in the address (a copied link restores the view). */
export function writeHash() {
  history.replaceState(null, "", encodeHash(app.state));
}

/** `url` (relative to viewer.json) as an absolute URL. */
export function resolveUrl(url) {
  return new URL(url, new URL(app.manifestUrl, window.location.href)).href;
}

/** Append a row "label | value" (value a string or a DOM node) to `table`. */
export function row(table, label, value) {
  const r = table.insertRow();
  r.insertCell().textContent = label;
  const c = r.insertCell();
  if (value instanceof Node) c.appendChild(value); else c.textContent = value;
  return r;
}

/** Fill a <select> with [value, label, disabled, reason] options and select `value`. */
export function fillSelect(select, options, value) {
  select.replaceChildren(...options.map(([v, label, disabled, reason]) => {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = disabled && reason ? `${label} (${reason})` : label;
    o.disabled = !!disabled;
    return o;
  }));
  select.value = value;
}

/** Load a classic script (CesiumJS) and wait for it; the tag is removed when it fails. */
export function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = resolve;
    script.onerror = () => { script.remove(); reject(new Error(`cannot load ${url}`)); };
    document.head.appendChild(script);
  });
}
