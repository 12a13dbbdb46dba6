"""Digital shop-in-shop: a brand's themed section inside the retailer's site."""
