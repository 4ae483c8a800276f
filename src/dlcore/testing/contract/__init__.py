"""The contract suite, one module per concern: each holds a section (a mixin of pytest tests)
that a backend runs alone or together with others. :class:`dlcore.testing.BackendTests` is all
of them; import the sections from :mod:`dlcore.testing`.

- :mod:`.base`: ``BackendTestBase``, what every section stands on (the ``device`` fixture, ``trainer()``)
- :mod:`.models`, :mod:`.training`, :mod:`.optimizers`, :mod:`.precision`, :mod:`.reproducibility`,
  :mod:`.evaluation`, :mod:`.checkpoints`, :mod:`.callbacks`, :mod:`.streaming`, :mod:`.layers`,
  :mod:`.text`, :mod:`.bad_input`: one section each
- regression is :mod:`dlcore.testing.regression`, groups of processes :mod:`dlcore.testing.distributed`
"""
