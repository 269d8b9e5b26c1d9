"""Offline, a dataset download fails within seconds, not minutes (issue 19): the
download host is probed first, the error names where the files are looked for
and where to put them, a failed download leaves no partial files, and
``kcc train/evaluate --no-download`` never start one."""

import errno
import os
import socket
import time

import pytest
import tensorflow_datasets as tfds

from keras_cv_course import data
from keras_cv_course.cli import main as kcc
from keras_cv_course.data import datasets

SPIN_SECONDS = 10  # how long the stand-in for TFDS's retries hangs when a download is started anyway


def status(argv):
    """``kcc argv``'s exit status, argparse's SystemExit included."""
    try:
        return kcc(argv)
    except SystemExit as exited:
        return exited.code


def tree(path):
    return sorted(os.path.relpath(os.path.join(folder, name), path)
                  for folder, dirs, files in os.walk(path) for name in dirs + files)


@pytest.fixture
def offline(monkeypatch):
    """No route to any host, and a TFDS builder that, started anyway, hangs as
    TFDS's retries do before failing; returns the list of builders started."""
    def no_route(*args, **kwargs):
        raise OSError(errno.ENETUNREACH, "Network is unreachable")

    started = []

    def spinning_builder(name, data_dir=None, **kwargs):
        started.append(name)
        time.sleep(SPIN_SECONDS)
        raise ConnectionError("Max retries exceeded")

    monkeypatch.setattr(socket, "create_connection", no_route)
    monkeypatch.setattr(tfds, "builder", spinning_builder)
    return started


def test_offline_load_fails_within_seconds_naming_where_files_go(empty_env, offline, tmp_path):
    target = tmp_path / "mine"
    began = time.monotonic()
    with pytest.raises(data.DatasetNotFoundError) as caught:
        data.load("cifar10", "train", data_dir=target)
    assert time.monotonic() - began < 5
    assert offline == []  # no download was started
    message = str(caught.value)
    assert "not started, no network" in message and "Network is unreachable" in message
    assert f"user folder: {target}" in message and str(empty_env["keras_home"] / "datasets") in message
    assert f"put the extracted cifar-10-batches-py/ folder of the python version into {target}" in message
    assert not target.exists()  # nothing written


def test_the_probe_gives_up_after_its_timeout(monkeypatch):
    def hanging_lookup(*args, **kwargs):  # a name lookup that blocks past any socket timeout
        time.sleep(3)
        raise socket.gaierror("Temporary failure in name resolution")

    monkeypatch.setattr(socket, "create_connection", hanging_lookup)
    began = time.monotonic()
    problem = datasets.network_problem("download.example", 443, timeout=0.5)
    assert time.monotonic() - began < 1.5
    assert problem == "cannot reach download.example:443: no answer within 0.5 s"


class FailingBuilder:
    """A TFDS builder whose download breaks off after writing partial files where TFDS writes them."""

    def __init__(self, name, data_dir=None, **kwargs):
        self.name, self.target = name, data_dir

    def download_and_prepare(self):
        os.makedirs(os.path.join(self.target, "downloads", self.name), exist_ok=True)
        with open(os.path.join(self.target, "downloads", self.name, "cifar-10.tar.gz.tmp.1f2e"), "wb") as f:
            f.write(b"\0" * 1000)
        os.makedirs(os.path.join(self.target, self.name, "incomplete.ABC", "3.0.2"))
        with open(os.path.join(self.target, self.name, "incomplete.ABC", "3.0.2", "cifar10-train.tfrecord"), "wb") as f:
            f.write(b"\0" * 100)
        raise ConnectionError("Connection reset by peer")


@pytest.mark.parametrize("existed", [True, False])
def test_a_failed_download_leaves_no_partial_files(empty_env, tmp_path, monkeypatch, existed):
    monkeypatch.setattr(datasets, "network_problem", lambda *args, **kwargs: None)  # the host answers
    monkeypatch.setattr(tfds, "builder", FailingBuilder)
    target = tmp_path / "tfds_target"
    if existed:  # another dataset's files and a download of its own are kept
        (target / "downloads").mkdir(parents=True)
        (target / "downloads" / "mnist.tar.gz").write_bytes(b"kept")
        (target / "mnist" / "3.0.1").mkdir(parents=True)
        (target / "mnist" / "3.0.1" / "dataset_info.json").write_text("{}")
    before = tree(target) if existed else None
    with pytest.raises(data.DatasetNotFoundError, match="Connection reset by peer; its partial files were removed"):
        data.load("cifar10", "train", data_dir=target)
    if existed:
        assert tree(target) == before
    else:
        assert not target.exists()


def test_kcc_train_and_evaluate_no_download_never_start_one(empty_env, offline, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    began = time.monotonic()
    assert status(["train", "lenet5", "--dataset", "mnist", "--no-download", "--epochs", "1",
                   "--run-dir", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--no-download" in err and str(empty_env["keras_home"] / "datasets") in err
    assert "train-images-idx3-ubyte.gz" in err  # the files to put there
    assert status(["evaluate", "lenet5", "--dataset", "mnist", "--no-download"]) == 2
    assert "Could not find the 'test' split of 'mnist'" in capsys.readouterr().err
    assert time.monotonic() - began < 20 and offline == []
    assert tree(empty_env["tfds"]) == []


def test_kcc_train_offline_fails_fast_without_partial_files(empty_env, offline, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    began = time.monotonic()
    assert status(["train", "lenet5", "--dataset", "mnist", "--epochs", "1", "--run-dir", str(tmp_path / "run"),
                   "--quiet"]) == 2
    assert time.monotonic() - began < SPIN_SECONDS
    err = capsys.readouterr().err
    assert "no network" in err and f"TFDS download into {empty_env['tfds']}" in err
    assert offline == [] and tree(empty_env["tfds"]) == []
