"""Touchpoints: the browser SDK and its widgets, web chat with a bot, and the demo shop."""
