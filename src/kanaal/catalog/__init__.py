"""One catalog: products, variants, channel listings, B2B price lists and product feeds."""
