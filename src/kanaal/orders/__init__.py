"""Orders from every channel, fulfilment routing, shipments and returns."""
