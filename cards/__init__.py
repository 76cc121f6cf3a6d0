"""Adaptive Cards for Teams: JSON templates plus a Python Template Language engine.

`render(name, data)` returns the expanded card; `template_names()` lists the templates.
See docs/cards.md for each template's data fields and action verbs.
"""

from cards.catalog import names as template_names
from cards.render import render

__all__ = ["render", "template_names"]
