"""QR codes on products in stores, store presence and the in-store hot prospect."""
