"""Pretargeting: publisher campaigns, the publisher tag, appointments and the report."""
