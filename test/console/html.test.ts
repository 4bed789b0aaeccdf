/** The console's one escaping place: what a hostile name becomes in a page. */
import { describe, expect, it } from 'vitest';
import { escape, href, html, Html, query } from '../../src/console/html.js';

const HOSTILE = `<script>alert("x")</script>&'"><img src=x onerror=alert(1)>`;

describe('html template', () => {
  it('escapes every interpolated string, in content and in attributes', () => {
    const out = html`<p title="${HOSTILE}">${HOSTILE}</p>`.toString();
    expect(out).not.toContain('<script>');
    expect(out).not.toContain('<img');
    expect(out).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">' +
        '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</p>',
    );
  });

  it('keeps nested templates and joins lists, escaping their values once', () => {
    const items = ['a<b', 'c&d'].map((t) => html`<li>${t}</li>`);
    expect(html`<ul>${items}</ul>`.toString()).toBe('<ul><li>a&lt;b</li><li>c&amp;d</li></ul>');
  });

  it('prints nothing for null, undefined and false, and numbers as text', () => {
    expect(html`${null}${undefined}${false}${0}${12.5}`.toString()).toBe('012.5');
  });

  it('cannot be handed trusted markup from outside the module', () => {
    expect(() => new (Html as unknown as new (key: symbol, text: string) => Html)(Symbol('trusted'), '<b>')).toThrow(TypeError);
  });

  it('percent-encodes path segments and query values', () => {
    expect(href('outlets', 'a/b?c')).toBe('/outlets/a%2Fb%3Fc');
    expect(query('/audit', { target: 'x&y=1', empty: '' })).toBe('/audit?target=x%26y%3D1');
    expect(escape(`'"`)).toBe('&#39;&quot;');
  });
});
