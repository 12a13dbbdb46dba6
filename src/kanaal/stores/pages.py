"""The mobile product page a QR scan lands on (server-rendered, no script)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, StrictUndefined, Template, select_autoescape

ACTION_TEXT = {
    "hot_prospect_alert": "A product expert in this store has been told you are here and "
                          "will come to help you.",
    "offer": "We match our online price for you in this store.",
    "call_now": "Call an expert now.",
    "callback_offer": "An expert can call you back.",
}

PRODUCT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ p.title }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f6f6f4}
header{background:#15324b;color:#fff;padding:12px 16px;font-size:15px}
main{padding:16px}
h1{font-size:22px;margin:8px 0}
img{max-width:100%;border-radius:8px;background:#ddd}
.price{font-size:24px;font-weight:700;margin:8px 0}
.store{display:inline-block;background:#e3eef7;border-radius:12px;padding:4px 10px;
font-size:14px}
.action{margin-top:16px;padding:14px;border-radius:8px;background:#fff3cd;
border:1px solid #e2c56d}
.action strong{display:block;margin-bottom:4px}
</style></head>
<body>
<header>Kanaal · in store</header>
<main>
{% if p.store %}<p class="store" data-store-id="{{ p.store.id }}">You are in
 {{ p.store.name }}</p>{% endif %}
<h1 data-sku="{{ p.sku }}">{{ p.title }}</h1>
{% if p.brand %}<p>{{ p.brand }}</p>{% endif %}
{% if p.image %}<img src="{{ p.image }}" alt="{{ p.title }}">{% endif %}
{% if p.price %}<p class="price">{{ p.price[1] }} {{ p.price[0] }}</p>{% endif %}
<p>{{ p.description }}</p>
{% if p.scan and p.scan.action != "none" %}
<section class="action" data-action="{{ p.scan.action }}">
<strong>{{ action_text }}</strong>{% if p.scan.action_message %}
<span>{{ p.scan.action_message }}</span>{% endif %}{% if p.scan.offer_code %}
<p>Show this code at the till: <code class="offer-code">{{ p.scan.offer_code }}</code></p>
{% endif %}
</section>{% endif %}
</main></body></html>
"""


@lru_cache(maxsize=1)
def _template() -> Template:
    env = Environment(autoescape=select_autoescape(default=True), undefined=StrictUndefined)
    return env.from_string(PRODUCT)


def render_product(page: dict[str, Any]) -> str:
    """The product page HTML."""
    scan = page.get("scan")
    text = ACTION_TEXT.get(scan["action"], "") if scan else ""
    return _template().render(p=page, action_text=text)
