"""The shipped example feed (documentation addresses and example domains only)."""
