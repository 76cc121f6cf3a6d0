"""Entra ID ports: app-only tokens (client credentials or managed identity), Graph."""
