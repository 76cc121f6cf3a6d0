"""The expression functions of Vigil's card engine, by name (operators included).

Each module holds one family of Microsoft's prebuilt function list; cards.expressions looks
names up here when it parses a template, so an unknown name is refused at load time.
"""

from __future__ import annotations

from cards.functions import arithmetic, collection, conversion, datetime, logic, regex, text
from cards.functions.types import Function

FUNCTIONS: dict[str, Function] = {
    function.name: function
    for module in (logic, text, collection, conversion, arithmetic, datetime, regex)
    for function in module.FUNCTIONS
}

__all__ = ["FUNCTIONS", "Function"]
