"""Kanaal: an open-source omnichannel sales hub."""

__version__ = "0.1.0"
