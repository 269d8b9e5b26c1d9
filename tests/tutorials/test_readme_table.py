"""README.md's lecture-to-tutorial table names every tutorial, and each of its
links to docs/tutorials/ points at a folder docs/make_tutorials.py wrote."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADER = "| lecture | tutorial | the lecture's figures it reproduces | full-mode output |"


def _table_rows():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    assert HEADER in text, "README.md lost its lecture-to-tutorial table"
    block = text[text.index(HEADER):].split("\n\n")[0].splitlines()[2:]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in block]


def test_every_tutorial_is_listed_beside_a_lecture(load_script):
    listed = {number.strip() for row in _table_rows() for number in row[1].split(",")}
    tutorials = {os.path.basename(path)[:2] for path in load_script("docs/make_tutorials.py").tutorial_paths(None)}
    assert tutorials - listed == set(), f"tutorials missing from README.md's table: {sorted(tutorials - listed)}"
    assert listed - tutorials == set(), f"README.md's table names tutorials that do not exist: {sorted(listed - tutorials)}"


def test_the_output_links_are_the_kept_folders_each_with_its_output():
    links = {link for row in _table_rows() for link in re.findall(r"\]\((docs/tutorials/[^)]+)/\)", row[3])}
    kept = {f"docs/tutorials/{name}" for name in os.listdir(os.path.join(ROOT, "docs", "tutorials"))
            if os.path.isdir(os.path.join(ROOT, "docs", "tutorials", name))}
    assert links == kept, f"linked but not kept: {sorted(links - kept)}; kept but not linked: {sorted(kept - links)}"
    for folder in kept:
        assert os.path.isfile(os.path.join(ROOT, folder, "output.txt")), f"{folder} has no output.txt"
