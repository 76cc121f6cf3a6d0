"""Playbooks: SOAR automation started from chat, each step shown on a card as it is reported."""
