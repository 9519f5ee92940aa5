"""Differential fuzzing of Tauraro against CPython: program generator, runner, reducer, campaigns."""
