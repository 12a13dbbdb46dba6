"""Pure rules of the web touchpoints: origins, browser paths, languages, callback queues."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanaal.touchpoints.domain import (
    callback_context,
    is_browser_path,
    origin_allowed,
    origin_of,
    pick_callback_queue,
    pick_language,
)

OWN = "http://kanaal.example:8000"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Shop.Example", "https://shop.example"),
        ("https://shop.example:443/path?q=1", "https://shop.example"),
        ("http://shop.example:80", "http://shop.example"),
        ("http://127.0.0.1:5173", "http://127.0.0.1:5173"),
        ("wss://shop.example", "https://shop.example"),
        ("null", None),
        ("file:///etc/passwd", None),
        ("https://", None),
        ("https://shop.example:99999", None),
    ],
)
def test_origins_are_normalised_or_refused(url: str, expected: str | None) -> None:
    assert origin_of(url) == expected


def test_allowed_origins_are_servers_kanaal_itself_and_configured_shops() -> None:
    shops = ["https://shop.example", "https://www.shop.example/"]
    assert origin_allowed(None, OWN, shops)
    assert origin_allowed("http://kanaal.example:8000", OWN, shops)
    assert origin_allowed("https://SHOP.example", OWN, shops)
    assert origin_allowed("https://www.shop.example", OWN, shops)
    assert not origin_allowed("https://evil.example", OWN, shops)
    assert not origin_allowed("http://shop.example", OWN, shops)  # scheme matters
    assert not origin_allowed("https://shop.example.evil.example", OWN, shops)
    assert not origin_allowed("null", OWN, shops)
    assert origin_allowed("https://anything.example", OWN, ["*"])


@given(name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12),
       tld=st.sampled_from(["com", "nl", "example"]),
       port=st.integers(min_value=1, max_value=65535))
def test_without_configured_origins_only_kanaal_itself_is_allowed(name: str, tld: str,
                                                                  port: int) -> None:
    candidate = f"https://{name}.{tld}:{port}"
    assert origin_allowed(candidate, candidate, [])
    assert origin_allowed(candidate, OWN, []) is False


@pytest.mark.parametrize(
    ("path", "browser"),
    [("/v1/batch", True), ("/v1/page", True), ("/v1/decisions", True),
     ("/v1/decisions/dec_1/outcome", True), ("/v1/touchpoints/callbacks", True),
     ("/v1/chat/ws", True), ("/v1/callbacks", False), ("/v1/customers", False),
     ("/desk", False), ("/v1/batches", False)],
)
def test_browser_paths(path: str, browser: bool) -> None:
    assert is_browser_path(path) is browser


@pytest.mark.parametrize(("lang", "expected"), [
    ("nl", "nl"), ("nl-BE", "nl"), ("NL", "nl"), ("en-GB", "en"), ("de", "en"), (None, "en"),
    ("", "en")])
def test_widgets_speak_dutch_or_english(lang: str | None, expected: str) -> None:
    assert pick_language(lang) == expected


QUEUES = [("sales", "sales", "phone"), ("service-cb", "service", "callback"),
          ("sales-cb", "sales", "callback"), ("chat", "sales", "chat")]


@pytest.mark.parametrize(
    ("requested", "configured", "expected"),
    [("sales-cb", None, "sales-cb"), ("sales", None, "sales-cb"), ("chat", None, "sales-cb"),
     (None, "sales-cb", "sales-cb"), (None, None, "service-cb"), ("nope", None, "service-cb"),
     (None, "nope", "service-cb")],
)
def test_the_callback_queue_follows_the_decision_and_its_skill(
    requested: str | None, configured: str | None, expected: str
) -> None:
    assert pick_callback_queue(QUEUES, requested, configured) == expected


def test_without_callback_queues_there_is_none() -> None:
    assert pick_callback_queue([("sales", "sales", "phone")], "sales", None) is None


def test_the_callback_context_keeps_the_last_ten_pages() -> None:
    pages = [{"url": f"https://shop.example/{n}"} for n in range(14)]
    context = callback_context(decision_id="dec_1", cart=None, pages=pages, lang="nl-NL")
    assert [p["url"][-2:] for p in context["pages"]] == [
        "/4", "/5", "/6", "/7", "/8", "/9", "10", "11", "12", "13"]
    assert (context["language"], context["source"]) == ("nl", "web_widget")
