"""Threat-intel sources: one module per source, all behind `Source` (see base.py)."""
