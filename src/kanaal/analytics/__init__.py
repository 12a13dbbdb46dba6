"""Analytics: journeys, attribution, channel profitability and experiments."""
