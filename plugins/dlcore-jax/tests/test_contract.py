"""The JAX backend passes dlcore's contract suite, as any backend must."""

from dlcore.testing import BackendTests


class TestJax(BackendTests):
    backend = "jax"
