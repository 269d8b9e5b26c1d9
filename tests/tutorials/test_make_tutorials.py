"""docs/make_tutorials.py runs a tutorial in full mode and keeps its printed figures and PNGs only."""

import pytest

FAKE_TUTORIAL = '''
import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--out")
args = parser.parse_args()
os.makedirs(os.path.join(args.out, "image_tree", "cats"))
open(os.path.join(args.out, "curves.png"), "wb").write(b"png")
open(os.path.join(args.out, "model.keras"), "wb").write(b"weights")
print("1. the lecture's figure: 3,453,121")
print("Epoch 1/30")
print("63/63 - 9s - 143ms/step - accuracy: 0.7185")
print("   test accuracy 0.8310")
print("wrote", os.path.join(args.out, "curves.png"))
'''


@pytest.fixture
def make_tutorials(load_script, tmp_path, monkeypatch):
    module = load_script("docs/make_tutorials.py")
    (tmp_path / "tutorials").mkdir()
    (tmp_path / "tutorials" / "15_fake.py").write_text(FAKE_TUTORIAL)
    monkeypatch.setattr(module, "ROOT", str(tmp_path))
    monkeypatch.setattr(module, "TUTORIALS", str(tmp_path / "tutorials"))
    monkeypatch.setattr(module, "OUT", str(tmp_path / "docs" / "tutorials"))
    return module


def test_a_tutorial_run_keeps_its_figures_and_printed_lines(make_tutorials, tmp_path):
    make_tutorials.main(["15"])
    folder = tmp_path / "docs" / "tutorials" / "15_fake"
    assert sorted(p.name for p in folder.iterdir()) == ["curves.png", "output.txt"]  # tree and model removed
    assert (folder / "output.txt").read_text().splitlines() == [
        "$ python tutorials/15_fake.py --out docs/tutorials/15_fake",
        "1. the lecture's figure: 3,453,121",
        "   test accuracy 0.8310",
        "wrote docs/tutorials/15_fake/curves.png",  # relative to the checkout: no machine's paths in docs/
    ]
    index = (tmp_path / "docs" / "tutorials" / "README.md").read_text()
    assert "## 15_fake" in index and "![curves.png](15_fake/curves.png)" in index


def test_an_unknown_tutorial_number_is_refused_by_name(make_tutorials):
    with pytest.raises(SystemExit, match="no tutorial numbered 42; there are 15"):
        make_tutorials.main(["42"])


def test_a_run_shows_every_line_as_it_comes_and_a_failure_names_the_tutorial(make_tutorials, tmp_path, capsys):
    make_tutorials.main(["15"])
    shown = capsys.readouterr().out
    assert "  | Epoch 1/30" in shown and "  | 1. the lecture's figure: 3,453,121" in shown  # progress, noise included
    (tmp_path / "tutorials" / "16_broken.py").write_text("print('started'); raise ValueError('bad image size 13')")
    with pytest.raises(SystemExit, match=r"16_broken failed \(exit 1\):[\s\S]*bad image size 13"):
        make_tutorials.main(["16"])


def test_the_index_leaves_out_a_tutorial_still_running_in_another_process(make_tutorials, tmp_path):
    (tmp_path / "docs" / "tutorials" / "13_running").mkdir(parents=True)  # emptied, output.txt not yet written
    make_tutorials.main(["15"])
    index = (tmp_path / "docs" / "tutorials" / "README.md").read_text()
    assert "## 15_fake" in index and "13_running" not in index
