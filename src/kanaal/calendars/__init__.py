"""Calendars of stores and agents, and the appointments booked against them."""
