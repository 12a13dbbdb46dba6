"""The embeddable themed page at /shop-in-shop/{brand}."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, StrictUndefined, Template, select_autoescape

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ b.name }} at {{ b.retailer }}</title>
<style>
:root{--brand-primary:{{ b.primary_colour }};--brand-accent:{{ b.accent_colour }}}
body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1d1d1d;background:#fafafa}
.sis-header{background:var(--brand-primary);color:#fff;padding:18px 24px;display:flex;
align-items:center;gap:16px}
.sis-header img{height:44px;background:#fff;border-radius:6px;padding:4px}
.sis-header h1{margin:0;font-size:24px}.sis-header small{opacity:.85}
.sis-hero{padding:20px 24px;border-bottom:4px solid var(--brand-accent);background:#fff}
.sis-hero h2{margin:0 0 6px;color:var(--brand-primary)}
main{display:grid;grid-template-columns:2fr 1fr;gap:24px;padding:24px}
.sis-products{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:16px}
.sis-product{background:#fff;border:1px solid #ddd;border-radius:8px;padding:14px}
.sis-product h3{margin:0 0 4px;font-size:17px}.price{font-weight:700;font-size:18px}
button{background:var(--brand-accent);color:#fff;border:0;border-radius:6px;padding:8px 14px;
font:inherit;cursor:pointer}
.sis-ask{background:#fff;border:2px solid var(--brand-primary);border-radius:8px;padding:16px}
.sis-ask h2{margin-top:0;color:var(--brand-primary);font-size:19px}
label{display:block;margin:8px 0 2px}input,textarea{width:100%;box-sizing:border-box;
padding:6px;font:inherit}[role=alert]{color:#a40000}
footer{padding:8px 24px;color:#666;font-size:13px}
</style></head>
<body data-brand="{{ b.handle }}">
<header class="sis-header">{% if b.logo_url %}<img src="{{ b.logo_url }}" alt="{{ b.name }} logo">
{% endif %}<div><h1>{{ b.name }}</h1><small>Official {{ b.name }} shop at {{ b.retailer }}
</small></div></header>
<section class="sis-hero"><h2>{{ b.headline }}</h2><p>{{ b.copy_text }}</p></section>
<main>
<section class="sis-products" aria-label="{{ b.name }} products">
{% for p in products %}
<article class="sis-product" data-sku="{{ p.sku }}">
<h3>{{ p.title }}</h3><p>{{ p.description }}</p>
<p class="price">{{ p.currency }} {{ p.price }}</p>
<form class="sis-buy" data-sku="{{ p.sku }}" aria-label="Buy {{ p.title }}">
<label for="email-{{ loop.index }}">E-mail for the order</label>
<input id="email-{{ loop.index }}" name="email" type="email" required>
<button type="submit">Buy</button><p role="status"></p></form>
</article>
{% endfor %}
</section>
<aside class="sis-ask"><h2>Ask a {{ b.name }} expert</h2>
<p>A {{ b.name }} specialist calls you back about your question.</p>
<form id="sis-question" aria-label="Ask a question">
<label for="sis-q">Your question</label><textarea id="sis-q" required maxlength="2000">
</textarea>
<label for="sis-phone">Your phone number</label><input id="sis-phone" type="tel" required>
<button type="submit">Send question</button><p role="status"></p></form></aside>
</main>
<footer>Sold and delivered by {{ b.retailer }}. Product advice by {{ b.name }}.</footer>
<script>
(function () {
  var brand = {{ b.handle|tojson }}, key = {{ write_key|tojson }};
  var base = '/v1/shop-in-shop/' + encodeURIComponent(brand);
  var aid = null;
  var m = document.cookie.match(/(?:^|; )kanaal_aid=([^;]*)/);
  if (m) { aid = decodeURIComponent(m[1]); }
  function post(path, body) {
    return fetch(base + path, {method: 'POST', headers: {'Content-Type': 'application/json',
      'Authorization': 'Basic ' + btoa(key + ':')}, body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (d) {
        if (!r.ok) { throw new Error(d.error.message); } return d; }); });
  }
  function say(form, text, bad) {
    var out = form.querySelector('[role=status]');
    out.textContent = text; out.style.color = bad ? '#a40000' : '';
  }
  document.getElementById('sis-question').addEventListener('submit', function (e) {
    e.preventDefault();
    var form = e.target;
    post('/questions', {question: document.getElementById('sis-q').value.trim(),
      phone: document.getElementById('sis-phone').value, anonymousId: aid || undefined})
      .then(function () { say(form, 'Thank you! A ' + {{ b.name|tojson }} +
        ' expert will call you back.'); })
      .catch(function (err) { say(form, err.message, true); });
  });
  Array.prototype.forEach.call(document.querySelectorAll('.sis-buy'), function (form) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      post('/orders', {sku: form.dataset.sku, quantity: 1, email: form.email.value,
        anonymousId: aid || undefined})
        .then(function (o) { say(form, 'Ordered! Order ' + o.id + ', total ' + o.currency +
          ' ' + o.total + '.'); })
        .catch(function (err) { say(form, err.message, true); });
    });
  });
}());
</script>
</body></html>
"""


@lru_cache(maxsize=1)
def _template() -> Template:
    env = Environment(autoescape=select_autoescape(default=True), undefined=StrictUndefined)
    return env.from_string(PAGE)


def render(view: dict[str, Any]) -> str:
    """The themed page HTML."""
    return _template().render(b=view["brand"], products=view["products"],
                              write_key=view["write_key"])
