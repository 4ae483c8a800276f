"""Build dlcore's API reference: one HTML page per public module, rendered by pdoc from the
docstrings.

    python docs/reference.py              # into docs/reference/ (not committed)
    python docs/reference.py /tmp/api     # or into any folder

Open ``index.html`` (or ``dlcore.html``) of the output in a browser. Needs pdoc
(``pip install pdoc``, part of the ``test`` extra) and pytest (``dlcore.testing``); no
framework: importing dlcore imports none, and the backends' packages are not documented
here. ``tests/test_reference.py`` checks that every public name has a docstring with an
example, and builds the reference with :func:`build`.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import pdoc
import pdoc.render

# The public modules: their ``__all__`` is the API (tests/data/public_api.txt lists it).
MODULES = (
    "dlcore", "dlcore.datasets", "dlcore.losses", "dlcore.metrics", "dlcore.models", "dlcore.ops",
    "dlcore.optimizers", "dlcore.schedules", "dlcore.callbacks", "dlcore.transforms", "dlcore.embeddings",
    "dlcore.contract", "dlcore.plugins", "dlcore.hookspecs", "dlcore.testing", "dlcore.plots", "dlcore.runs",
)
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "reference"


def build(output: Path, modules: tuple[str, ...] = MODULES) -> list[Path]:
    """Render ``modules`` into ``output`` (created if needed); return the pages written, one
    ``.html`` file per module (``dlcore.html``, ``dlcore/datasets.html``, ...). A module that
    does not import is an error."""
    output = Path(output)
    pdoc.render.configure(docformat="google")
    # pdoc documents a package's submodules too (those in its __all__); only the listed modules
    # get a page, each once.
    others = "!(?!(" + "|".join(re.escape(m) for m in modules) + ")$)"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The module specification .* adds a module named", UserWarning)
        pdoc.pdoc(*modules, others, output_directory=output)
    pages = [output / (module.replace(".", "/") + ".html") for module in modules]
    missing = [module for module, page in zip(modules, pages) if not page.is_file()]
    if missing:
        raise RuntimeError(f"pdoc wrote no page for {', '.join(missing)}; see its warnings above")
    return pages


def main(argv: list[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    pages = build(output)
    print(f"{len(pages)} pages in {output}; open {output / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
