"""A fresh browser context and page for end-to-end tests, collecting the page's errors."""

from __future__ import annotations

from typing import Any


def open_page(browser: Any, *, console_errors: bool = False, **options: Any
              ) -> tuple[Any, Any, list[str]]:
    """A new context (no cookies; `options` as Playwright's `new_context` takes them) and
    page whose uncaught script errors, and with `console_errors` also its console errors,
    land in the returned list."""
    context = browser.new_context(**options)
    page = context.new_page()
    errors: list[str] = []
    if console_errors:
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors
