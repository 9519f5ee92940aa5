"""Code-generation backends for the loop JIT; pick one with tauraro.backends.base.get_backend(name)."""
