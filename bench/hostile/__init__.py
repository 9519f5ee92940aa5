"""JIT-hostile programs: loops the JIT cannot run well natively, timed on every backend next to interp."""
