"""The kernel: the one way in, the Messenger port (the one way out), registry, config."""
