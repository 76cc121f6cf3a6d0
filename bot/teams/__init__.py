"""The Teams adapter: the only Bot Framework code besides dialogs/."""
