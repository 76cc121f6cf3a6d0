"""Indicator enrichment: parse indicators, ask threat-intel sources, give one verdict."""
