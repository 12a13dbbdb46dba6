"""Shared web layer: server-rendered pages (Jinja2), signed sessions, CSRF and static files."""
