"""Approvals: containment requests, their four-eyes decisions and their state in the store."""
