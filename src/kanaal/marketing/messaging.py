"""Message templates (Jinja2, sandboxed) and signed unsubscribe tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import TemplateError, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from kanaal.core.errors import InvalidInput

# Unknown top-level names are refused when a template is saved; a property an event lacks
# renders empty rather than failing the send.
_ENV = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)

# What every template may use; validation renders with these sample values.
SAMPLE_CONTEXT: dict[str, Any] = {
    "customer": {"id": "cus_sample", "first_name": "Ann", "email": "ann@example.com"},
    "traits": {"first_name": "Ann"},
    "event": {"event": "Product Added", "properties": {"sku": "SKU-1", "price": 19.95}},
    "cart": {"value": 59.85, "currency": "EUR", "items": [{"sku": "SKU-1", "quantity": 3}]},
    "offer_code": "K-SAMPLE",
    "unsubscribe_url": "https://example.com/v1/unsubscribe/sample",
    "shop_url": "https://example.com",
}


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A message ready for its channel."""

    subject: str
    body: str


def validate_template(source: str, *, field: str) -> None:
    """Compile and trial-render a template; InvalidInput says where it breaks."""
    try:
        unknown = sorted(meta.find_undeclared_variables(_ENV.parse(source)) - set(SAMPLE_CONTEXT))
        if unknown:
            names = ", ".join(SAMPLE_CONTEXT)
            raise InvalidInput(
                f"{field}: unknown name {unknown[0]!r}; templates may use {names}",
                code="template_error",
                details=[{"loc": field, "message": f"unknown name {unknown[0]!r}"}],
            )
        _ENV.from_string(source).render(**SAMPLE_CONTEXT)
    except TemplateSyntaxError as exc:
        raise InvalidInput(
            f"{field}: template syntax error on line {exc.lineno}: {exc.message}",
            code="template_error",
            details=[{"loc": field, "line": exc.lineno, "message": exc.message}],
        ) from exc
    except TemplateError as exc:
        raise InvalidInput(
            f"{field}: {exc.message or exc}",
            code="template_error",
            details=[{"loc": field, "message": str(exc.message or exc)}],
        ) from exc


def render(subject: str, body: str, context: dict[str, Any]) -> RenderedMessage:
    """Render a subject and body with `context`."""
    return RenderedMessage(
        subject=" ".join(_ENV.from_string(subject).render(**context).split()),
        body=_ENV.from_string(body).render(**context),
    )


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="kanaal.unsubscribe")


def unsubscribe_token(secret: str, customer_id: str, channel: str) -> str:
    """A token for one customer and channel (email or sms) to put in an unsubscribe link."""
    return _serializer(secret).dumps({"c": customer_id, "ch": channel})


def read_unsubscribe_token(secret: str, token: str) -> tuple[str, str]:
    """The (customer_id, channel) a token stands for; InvalidInput when it was tampered with."""
    try:
        data = _serializer(secret).loads(token)
    except BadSignature as exc:
        raise InvalidInput("this unsubscribe link is not valid", code="invalid_token") from exc
    return str(data["c"]), str(data["ch"])
