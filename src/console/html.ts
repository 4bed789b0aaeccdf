/**
 * HTML from templates, escaped in one place. `html` is a tagged template: every interpolated
 * value is escaped unless it is already Html (another template's output), so a merchant called
 * `<script>` prints as text. Nothing else in the console builds markup from strings.
 */

/** Only this module holds it, so only `html` below can make an Html. */
const TRUSTED = Symbol('trusted');

/** Markup that is safe to insert as is: the output of `html`, whose every value went through escape(). */
export class Html {
  readonly #text: string;
  constructor(key: typeof TRUSTED, text: string) {
    if (key !== TRUSTED) throw new TypeError('Html is made by the html template only');
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an element's content or a quoted attribute value. */
export function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** What a template takes: text and numbers are escaped, Html is kept, lists are joined, null/false/undefined print nothing. */
export type Value = string | number | Html | null | undefined | false | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  return escape(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + (strings[i + 1] ?? '');
  return new Html(TRUSTED, out);
}

/** A link's address from path segments, each percent-encoded (then escaped by the template). */
export function href(...segments: string[]): string {
  return `/${segments.map(encodeURIComponent).join('/')}`;
}

/** A query string from pairs whose value is set. */
export function query(path: string, params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text === '' ? path : `${path}?${text}`;
}
