"""A fresh browser context and page for end-to-end tests, collecting the page's errors, and
the chat sockets a page opens, held by the test."""

from __future__ import annotations

import re
from typing import Any

CHAT_SOCKET = re.compile(r"/v1/chat/ws\?")


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


def hold_chat_sockets(page: Any) -> list[Any]:
    """Pass the page's chat sockets through to the server (Playwright's `route_web_socket`),
    keeping hold of each in the returned list, in the order they open, so a test can close one
    as the server would. Call it before the page loads."""
    sockets: list[Any] = []

    def proxy(socket: Any) -> None:
        socket.connect_to_server()
        sockets.append(socket)

    page.route_web_socket(CHAT_SOCKET, proxy)
    return sockets
