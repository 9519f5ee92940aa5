"""Real programs benchmark: whole Python programs run on CPython, PyPy and every Tauraro backend."""
