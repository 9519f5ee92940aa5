"""Tauraro loop JIT core: the loop IR, deopt snapshots, linear-memory layout, passes and the IR interpreter."""
