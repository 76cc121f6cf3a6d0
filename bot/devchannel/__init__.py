"""The local Teams stand-in (real tokens both ways) and the terminal chat."""
