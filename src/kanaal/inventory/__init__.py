"""Inventory: locations, the stock ledger, reservations and availability."""
