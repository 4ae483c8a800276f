"""dlcore's benchmarks: ``python -m benchmarks [--quick] [--out DIR]``."""
