"""Optimisation passes over the loop IR; each module exposes run(fn) -> fn and mutates fn in place."""
