"""Tauraro benchmark suite: Tauraro, C, CPython, PyPy and LuaJIT implementations of the same kernels."""
