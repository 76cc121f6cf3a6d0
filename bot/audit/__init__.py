"""The audit capability: the hash-chained, tamper-evident log of every action."""
