"""Containment: the actions Vigil can take on the world and the connectors that carry them out."""
