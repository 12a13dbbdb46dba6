"""Sales channels: webshop, stores, marketplaces, B2B and the other kinds, with stock rules."""
