"""``fit``: train any registered model on a dataset and leave a readable run directory.

    from keras_cv_course import training
    result = training.fit("lenet5", "fashion_mnist", epochs=10, batch_size=128, run_dir="runs/lenet5")

A run directory holds, for every task (``keras_cv_course.tasks``)::

    best.keras  last.keras        the best (by the task's monitor) and last models
    history.csv                   one row per epoch (lr, train_seconds, losses, metrics)
    logs/                         TensorBoard
    report.json  report.md        the task's evaluation (classification: top-1/top-5,
                                  error, balanced error, per-class, ROC AUC for two
                                  classes; multi-label: mAP, F1; segmentation: mean IU)
    confusion_matrix.png  learning_curve_*.png  [roc_curve.png pr_curves.png
                                  segmentation_examples.png]
    state.json  checkpoints/      what ``resume=True`` restarts from
    run.lock                      while training: the process that holds the run
                                  (``training.lock``; one writer at a time)

Everything model-related is created inside ``strategy.scope()``; ``batch_size`` is
the per-replica batch, so the global batch is ``batch_size ×
strategy.num_replicas_in_sync``. With ``val=None`` and a dataset name, the test
split is the validation set: the per-epoch curves show it, and the report
evaluates the *last* model on it (the best-by-validation checkpoint is kept as
``best.keras`` but not reported, since choosing it on the test set would flatter
it). With an explicit ``val`` the report evaluates ``best.keras``.
"""

import contextlib
import dataclasses
import math
import os
import sys
import time

import keras

from keras_cv_course import _keras_compat, tasks
from keras_cv_course import precision as precision_lib
from keras_cv_course.adaptation import ADAPT_IMAGES, adapt_model
from keras_cv_course.backends import fix_torch_backend
from keras_cv_course.runs import CALLABLE_PREFIX, load_model_file, model_path
from keras_cv_course.training import callbacks as cb
from keras_cv_course.training import lock as lock_lib
from keras_cv_course.training import report as report_lib
from keras_cv_course.training.schedules import make_schedule
from keras_cv_course.training.strategy import get_strategy, global_batch_size, is_chief

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")


@dataclasses.dataclass
class FitResult:
    """What ``fit`` returns: the trained model, the history rows, the evaluation
    summary of the report (None when not evaluated) and the run directory."""

    model: object
    history: list
    summary: dict
    run_dir: str
    report_path: str = None


def make_optimizer(name, learning_rate, *, weight_decay=None, momentum=0.9):
    """A Keras optimizer by name; ``learning_rate`` may be a schedule.
    ``weight_decay``: Keras' decoupled weight decay for every optimizer (AdamW's
    default 1e-4 when None; none for the others)."""
    name = name.lower()
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, weight_decay=weight_decay)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay if weight_decay is not None else 1e-4)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=momentum, nesterov=True, weight_decay=weight_decay)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, weight_decay=weight_decay)
    raise ValueError(f"Unknown optimizer {name!r}; expected one of {OPTIMIZERS}")


def _data():
    from keras_cv_course import data

    return data


@dataclasses.dataclass
class RunData:
    """The datasets of a run and what the run records about them."""

    train: object
    val: object
    eval_split: str
    dataset: str
    source: str
    class_names: list
    num_classes: int
    channels: int
    skipped_images: dict = None


def check_options(*, epochs, batch_size, learning_rate, weight_decay, validation_split):
    """Refuse option values that would train nothing or silently wrong, naming the
    value (None: unset, see ``resolve_options``)."""
    def bad(option, value, expected):
        raise ValueError(f"{option} must be {expected}; got {value!r}")

    for option, value in (("epochs", epochs), ("batch_size", batch_size)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            bad(option, value, "a positive integer")
    if learning_rate is not None and (not isinstance(learning_rate, (int, float)) or not math.isfinite(learning_rate)
                                      or learning_rate <= 0):
        bad("learning_rate", learning_rate, "a positive finite number")
    if weight_decay is not None and (not math.isfinite(weight_decay) or weight_decay < 0):
        bad("weight_decay", weight_decay, "a finite number >= 0 or None")
    if not 0 <= validation_split < 1:
        bad("validation_split", validation_split, "a fraction in [0, 1)")


def dataset_label(train):
    """What a run records as its dataset: the name, an image folder's absolute
    path, or "custom" for an in-memory dataset."""
    if isinstance(train, (str, os.PathLike)) and _data().is_image_folder(train):
        return os.path.abspath(train)
    return train if isinstance(train, str) else "custom"


def open_data(train, val=None, *, data_dir=None, validation_split=0.2, seed=0, class_names=None, download=True,
              on_error="skip", verbose=False):
    """The ``RunData`` of ``fit``'s ``train``/``val`` arguments.

    ``train``: a dataset name of ``data.list_datasets()`` (``val=None``: its test
    split validates), an image folder (``data.folder_split``: a sibling
    ``validation/`` folder, else ``validation_split`` of it held out with
    ``seed``), or an unbatched ``tf.data.Dataset`` (its ``class_names``
    attribute, as Keras' ``image_dataset_from_directory`` sets it, is used).
    ``download``: whether a named dataset found nowhere locally may be
    downloaded. ``on_error``: unreadable images in image folders are skipped
    ("skip": counted in ``skipped_images`` and the source, and with ``verbose``
    printed) or raise a ``CorruptImageError`` naming them ("raise")."""
    data = _data()
    data.folders.check_on_error(on_error)
    load = {"data_dir": data_dir, "download": download, "on_error": on_error}
    if on_error == "skip":  # each source's own default: image folders skip, VOC annotations raise
        del load["on_error"]
    if isinstance(train, (str, os.PathLike)) and data.is_image_folder(train):
        part = data.folder_split(train, "train", validation_split=validation_split, seed=seed, on_error=on_error)
        if val is None:
            held = data.folder_split(train, "validation", validation_split=validation_split, seed=seed,
                                     on_error=on_error)
            val_ds, split, source = held.dataset, "validation", f"{part.source}; validation {held.source}"
        else:
            val_ds, split, source = _load_split(val, "test", **load), "validation", part.source
        names = list(class_names or part.class_names)
        run = RunData(part.dataset, val_ds, split, dataset_label(train), source, names, len(names), 3)
    elif isinstance(train, str):
        facts = data.info(train)
        sources = {"train": data.locate(train, "train", **load)}
        if val is None:
            sources["test"] = data.locate(train, "test", **load)
        train_ds = sources["train"].read()
        val_ds = sources["test"].read() if val is None else _load_split(val, "test", **load)
        names = list(class_names or facts.class_names)
        run = RunData(train_ds, val_ds, "test" if val is None else "validation", train,
                      _describe_source(sources, data_dir), names, facts.num_classes, facts.image_shape[-1])
    else:
        names = class_names or getattr(train, "class_names", None)
        val_ds = _load_split(val, "test", **load) if val is not None else None
        image_spec = train.element_spec[0]
        channels = image_spec.shape[-1] if image_spec.shape.rank == 3 else None
        run = RunData(train, val_ds, "validation", "custom", "in-memory dataset", list(names) if names else None,
                      len(names) if names else None, channels)
    return _note_skipped(run, verbose)


def _note_skipped(run, verbose):
    """Record (and with ``verbose`` print) the unreadable images the run's image folders skipped."""
    folders = _data().folders
    reports = [getattr(ds, "report", None) for ds in (run.train, run.val)]
    run.skipped_images = folders.skipped_record(reports)
    if run.skipped_images:
        run.source = f"{run.source}; {run.skipped_images['count']} unreadable image(s) skipped"
        if verbose:
            print(f"warning: {folders.skipped_summary(reports)}", file=sys.stderr, flush=True)
    return run


def _count(ds):
    cardinality = int(ds.cardinality())
    if cardinality >= 0:
        return cardinality
    return sum(1 for _ in ds)


def _load_split(source, split, data_dir, download=True, **on_error):
    """The ``split`` of ``source``: an image folder's (its test split is the
    validation one), a named dataset's, or ``source`` itself (a dataset)."""
    if isinstance(source, (str, os.PathLike)) and _data().is_image_folder(source):
        return _data().folder_split(source, "validation" if split == "test" else split, **on_error).dataset
    if isinstance(source, str):
        return _data().load(source, split, data_dir=data_dir, download=download, **on_error)
    return source


def _pipeline(ds, *, image_size, batch_size, training, augment, preprocess, seed, channels, shuffle=True):
    return _data().pipeline(
        ds, image_size=image_size, batch_size=batch_size, training=training, augment=augment,
        preprocess=preprocess, seed=seed, channels=channels, shuffle_buffer=10_000 if shuffle else 0,
    )


def _resolve_model(model_or_name):
    """``(name, ModelInfo or None, model or None)``: a registered name, a .keras
    file (loaded here) or a built ``keras.Model``."""
    if isinstance(model_or_name, (str, os.PathLike)) and str(model_or_name).endswith(".keras"):
        path = model_path(os.fspath(model_or_name))
        return os.path.splitext(os.path.basename(path))[0], None, path
    if isinstance(model_or_name, str):
        from keras_cv_course.models import model_info

        return model_or_name, model_info(model_or_name), None
    return getattr(model_or_name, "name", "model"), None, model_or_name


def _build(model_or_name, info, *, task, num_classes, channels, finetune_from, freeze_until):
    """The model to train (inside the strategy scope), frozen before ``freeze_until``.
    ``finetune_from`` must hold the architecture ``model_or_name`` names
    (``runs.load_finetune_source``); a damaged model file is named."""
    from keras_cv_course.runs import load_finetune_source

    if finetune_from:
        model = load_finetune_source(finetune_from, model_or_name)
    elif isinstance(model_or_name, (str, os.PathLike)) and str(model_or_name).endswith(".keras"):
        model = load_model_file(model_or_name, compile=False)
    elif not isinstance(model_or_name, str):
        model = model_or_name
    else:
        from keras_cv_course.models import get_model

        channels = channels or info.input_shape[-1]
        if info.preprocessing in ("caffe", "torch"):  # ImageNet statistics need RGB
            channels = 3
        model = get_model(model_or_name, input_shape=(*info.input_shape[:2], channels), **task.build_kwargs(num_classes))
    if freeze_until:
        from keras_cv_course.surgery import freeze

        freeze(model, until=freeze_until)
    return model


DEFAULTS = {"epochs": 10, "batch_size": 128, "optimizer": "adam", "learning_rate": 1e-3, "schedule": "constant",
            "augment": None, "weight_decay": None, "precision": precision_lib.AUTO, "jit_compile": precision_lib.AUTO}
NO_AUGMENT = "none"  # asks a resumed run to stop augmenting (None keeps its recorded augmentation)
RESUME_KEYS = ("model", "dataset", "task", "optimizer", "weight_decay", "precision")
WHY_KEPT = {"optimizer": " (its state, restored from the checkpoint, belongs to that optimizer)",
            "weight_decay": " (it is part of the optimizer restored from the checkpoint)",
            "precision": " (the checkpoint's layers compute in it, and mixed_float16 has its own loss-scaling optimizer)"}
CHANGEABLE_ON_RESUME = ("epochs", "batch_size", "learning_rate", "schedule", "augment", "jit_compile")


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped ``fit``: the run directory keeps every committed
    epoch (``epochs_done``), its lock is released, and the message is one line
    saying how to resume (``resume_command``)."""

    def __init__(self, run_dir, epochs_done, resume_command):
        self.run_dir, self.epochs_done, self.resume_command = run_dir, epochs_done, resume_command
        super().__init__(f"interrupted; resume with: {resume_command} ({epochs_done} trained epoch(s) kept in "
                         f"{run_dir})")


def resolve_options(requested, recorded=None):
    """The options a session trains with (the keys of ``DEFAULTS``): each one
    given in ``requested``, else, resuming, the value the run recorded
    (``recorded``: its config), else the default of a new run. An ``augment`` of
    ``NO_AUGMENT`` means none."""
    options = {}
    for key, default in DEFAULTS.items():
        value = requested.get(key)
        if value is None:
            value = recorded.get(key, default) if recorded is not None else default
        options[key] = value
    if options["augment"] == NO_AUGMENT:
        options["augment"] = None
    return options


def check_resume(recorded, requested, describe=None):
    """Refuse to resume a run with another model, dataset, task, optimizer or
    weight decay than it recorded, naming both values (``describe`` turns a
    recorded value into the requested value's form; a requested None is unset)."""
    for key in RESUME_KEYS:
        if key not in recorded or requested.get(key) is None:
            continue
        have, want = recorded[key], requested[key]
        if describe is not None and have is not None and key == "task":
            have = describe(have)
        if have != want:
            raise ValueError(f"Cannot resume this run with {key} {want!r}: it was trained with {key} {have!r}"
                             f"{WHY_KEPT.get(key, '')}. Resume with the recorded value or start a new run directory.")


def resume_changes(recorded, options):
    """``[(key, recorded value, new value)]`` for the options of
    ``CHANGEABLE_ON_RESUME`` a resumed session changes."""
    return [(key, recorded[key], options[key]) for key in CHANGEABLE_ON_RESUME
            if key in recorded and _shown(recorded[key]) != _shown(options[key])]


def check_resume_plan(state, options):
    """Refuse a resume that would train backwards (fewer epochs than trained) or
    record changes no epoch trains with (the run has trained all its epochs)."""
    trained = int(state["epoch"]) + 1
    if options["epochs"] < trained:
        raise ValueError(f"Cannot resume this run with epochs {options['epochs']}: it has already trained {trained} "
                         f"epochs. Pass epochs >= {trained}.")
    changed = [f"{key} {_shown(new)}" for key, _, new in resume_changes(state.get("config", {}), options)
               if key != "epochs"]
    if changed and options["epochs"] == trained:
        raise ValueError(f"Cannot resume this run with {', '.join(changed)}: it has trained all its {trained} epochs, "
                         "so no epoch would train with it. Pass more epochs to continue with the change, or resume "
                         "without it to finish the run.")


def _shown(value):
    """An option value as the run's records show it."""
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


def replan_schedule(model, *, schedule, learning_rate, epochs, steps, initial_epoch):
    """Give a resumed run's optimizer the learning-rate schedule a run of
    ``epochs`` epochs of ``steps`` steps with this ``schedule`` and peak
    ``learning_rate`` would have had from the start, read at the step where
    ``initial_epoch`` begins on it (a ``schedules.Shifted`` when the steps per
    epoch changed; the optimizer's own step count runs on). So a finished
    one-cycle run asked for more epochs rises back to the longer cycle's rate at
    this step instead of training on at its final 1e-8. Returns ``(old rate,
    new rate)`` at the current step."""
    from keras_cv_course.training.schedules import Shifted

    optimizer = model.optimizer
    old = _current_rate(optimizer)
    planned = make_schedule(schedule, learning_rate, epochs=epochs, steps_per_epoch=steps)
    offset = initial_epoch * steps - int(keras.ops.convert_to_numpy(optimizer.iterations))
    if isinstance(planned, float) and isinstance(optimizer.learning_rate, keras.Variable):
        optimizer.learning_rate = planned
    elif offset or isinstance(planned, float):  # Keras lets no float replace a schedule
        optimizer.learning_rate = Shifted(planned, offset)
    else:
        optimizer.learning_rate = planned
    return old, _current_rate(optimizer)


def _current_rate(optimizer):
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def fit(
    model_or_name,
    train,
    val=None,
    *,
    task=None,
    epochs=None,
    batch_size=None,
    optimizer=None,
    learning_rate=None,
    schedule=None,
    augment=None,
    strategy="auto",
    run_dir=None,
    resume=False,
    seed=0,
    weight_decay=None,
    finetune_from=None,
    freeze_until=None,
    data_dir=None,
    download=True,
    on_error="skip",
    preprocessing=None,
    class_names=None,
    validation_split=0.2,
    steps_per_epoch=None,
    verbose=1,
    progress_seconds=10.0,
    evaluate=True,
    shuffle=True,
    command=None,
    precision=None,
    jit_compile=None,
):
    """Train ``model_or_name`` on ``train``, validate on ``val``, write ``run_dir``.

    ``model_or_name``: a registered name (built for the data's classes and
    channels and for the task), a ``.keras`` file, or a ``keras.Model`` (built by
    you, ideally inside the strategy's scope). ``train``/``val``: dataset names
    (``kcc`` names such as "fashion_mnist"), an image folder (one sub-folder per
    class; a sibling ``validation/`` folder or ``validation_split`` of it
    validates) or unbatched ``tf.data.Dataset`` of ``(uint8 image, target)``
    where the target is a class id, a one-hot / multi-hot vector or a mask;
    ``val=None`` with a name uses its test split. ``task``: a ``tasks.Task`` or
    a name of ``tasks.TASK_NAMES`` (default: the registry entry's task, else
    inferred from the model's output and the targets). ``batch_size``: per
    replica. ``schedule``: constant | step | cosine | onecycle (peak
    ``learning_rate``). ``augment``: passed to ``data.pipeline`` (None or a
    preset such as "fashion"). Left None, ``epochs``, ``batch_size``,
    ``optimizer``, ``learning_rate``, ``schedule``, ``augment`` and
    ``weight_decay`` take ``DEFAULTS`` in a new run and the recorded values when
    resuming. ``strategy``: a name for ``get_strategy`` or a
    ``tf.distribute.Strategy``. ``run_dir`` is locked for the whole call
    (``training.lock``: another process training there is refused with
    ``RunDirectoryInUse``). ``resume``: continue the run in ``run_dir`` after its
    last completed epoch, first finishing what its last commit left undone
    (``callbacks.finish_commit``); a run that trained all its epochs only gets its
    report. Refused for another model, dataset, task, optimizer or weight decay;
    another ``epochs``, ``batch_size``, ``learning_rate``, ``schedule`` or
    ``augment`` (``NO_AUGMENT`` to stop) applies from the next epoch, is listed in
    the report under ``changed_on_resume`` and re-plans the schedule
    (``replan_schedule``). Ctrl-C raises ``TrainingInterrupted`` (a
    ``KeyboardInterrupt``) saying how to resume, ``command`` + " --resume" when
    given. ``command``: the command line recorded in the report (a resumed run
    keeps the one that started it). ``finetune_from``: a .keras file or run directory to
    start from; ``freeze_until``: freeze every layer before this one
    (surgery.freeze). ``progress_seconds``: with ``verbose``, a progress line
    inside an epoch at most this often (0: per-epoch lines only).
    ``shuffle=False`` keeps the training data in order (for exact comparisons).
    ``precision``: "float32", "mixed_bfloat16", "mixed_float16" or "auto"
    (None: "auto" in a new run, the recorded one when resuming; see
    ``keras_cv_course.precision``: the fastest on this machine); the model is
    built (or a given one converted, ``precision.with_precision``) in it, with
    float32 outputs, and the run records the resolved name; a resume cannot
    change it. ``jit_compile``: True, False or "auto" (the measured faster
    choice for the model here, ``precision.default_jit_compile``); it may change
    on resume.
    A fresh model's layers that need data (``adapt`` and ``is_adapted``, see
    ``keras_cv_course.adaptation``; ``blocks.PatchWhitening``) are adapted to the
    first 5,000 training images, un-augmented, before the first step; those
    seconds count as training time. ``data_dir``: where named datasets are looked
    for first (``data.load``); ``download=False`` never downloads one.
    ``on_error``: unreadable images in image folders are skipped ("skip": counted
    in the report's ``skipped_images`` and printed) or stop the run naming them
    ("raise"). A ``train``/``val`` that is neither a dataset name nor an existing
    folder is refused before anything is written. Returns a ``FitResult``.
    """
    started = time.time()
    check_options(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, weight_decay=weight_decay,
                  validation_split=validation_split)
    name, info, given = _resolve_model(model_or_name)
    if isinstance(strategy, str):
        strategy = get_strategy(strategy)
    chief = is_chief(strategy)
    run_dir = run_dir or os.path.join("runs", f"{name}-{time.strftime('%Y%m%d-%H%M%S')}")
    for spec in (train, val):
        _data().check_dataset(spec)
    if chief:
        os.makedirs(run_dir, exist_ok=True)
    requested = {"epochs": epochs, "batch_size": batch_size, "optimizer": optimizer and optimizer.lower(),
                 "learning_rate": learning_rate, "schedule": schedule, "augment": augment, "weight_decay": weight_decay,
                 **_requested_compute(precision, jit_compile)}
    with _locked(run_dir, chief), _resume_hint_on_interrupt(run_dir, command):
        state = cb.read_state(run_dir) if resume else None
        if chief and not resume and cb.read_state(run_dir) is not None:
            raise ValueError(f"{run_dir!r} already holds a run; pass resume=True to continue it or choose another run_dir")
        options = resolve_options(requested, state.get("config", {}) if state is not None else None)
        if state is not None:
            check_resume(state.get("config", {}), {"model": name, "dataset": dataset_label(train), **requested})
            check_resume_plan(state, options)
        return _train(name, info, given, train, val, state=state, options=options, task=task, strategy=strategy,
                      run_dir=run_dir, chief=chief, seed=seed, finetune_from=finetune_from, freeze_until=freeze_until,
                      data_dir=data_dir, preprocessing=preprocessing, class_names=class_names,
                      validation_split=validation_split, steps_per_epoch=steps_per_epoch, verbose=verbose,
                      progress_seconds=progress_seconds, evaluate=evaluate, shuffle=shuffle, command=command,
                      started=started, download=download, on_error=on_error)


@contextlib.contextmanager
def _locked(run_dir, chief):
    """The run directory's lock (``training.lock``) on the chief, which alone writes it."""
    if not chief:
        yield None
        return
    with lock_lib.acquire(run_dir, announce=lambda line: print(line, file=sys.stderr, flush=True)) as held:
        yield held


@contextlib.contextmanager
def _resume_hint_on_interrupt(run_dir, command):
    """Turn Ctrl-C into ``TrainingInterrupted`` naming the epochs kept and how to resume."""
    try:
        yield
    except KeyboardInterrupt:
        try:
            state = cb.read_state(run_dir)
        except ValueError:  # a state.json this run never committed; its own error shows on resume
            state = None
        done = int(state["epoch"]) + 1 if state else 0
        if command:
            resume_command = command if "--resume" in command.split() else f"{command} --resume"
        else:
            resume_command = f"fit(..., run_dir={run_dir!r}, resume=True)"
        raise TrainingInterrupted(run_dir, done, resume_command) from None


def _single_device_jit(chosen, requested, replicas):
    """The "auto" XLA choice was measured on one device: with several replicas it
    is off (XLA on MirroredStrategy over logical CPUs fails with "Trying to access
    resource ... located in device CPU:1 from device CPU:0"). An explicit
    ``jit_compile=True`` is kept."""
    if replicas > 1 and requested == precision_lib.AUTO:
        return False
    return chosen


def _requested_compute(precision, jit_compile):
    """``precision`` and ``jit_compile`` as requested, checked; "auto" and None
    are None (a new run resolves them in ``_train``, a resumed one keeps its own)."""
    precision = precision_lib.check_precision(precision)
    jit_compile = precision_lib.check_jit_compile(precision_lib.AUTO if jit_compile is None else jit_compile)
    return {"precision": None if precision == precision_lib.AUTO else precision,
            "jit_compile": None if jit_compile == precision_lib.AUTO else jit_compile}


def _train(name, info, given, train, val, *, state, options, task, strategy, run_dir, chief, seed, finetune_from,
           freeze_until, data_dir, preprocessing, class_names, validation_split, steps_per_epoch, verbose,
           progress_seconds, evaluate, shuffle, command, started, download=True, on_error="skip"):
    """The body of ``fit`` once the run directory is locked and ``options`` resolved."""
    epochs, batch_size = options["epochs"], options["batch_size"]
    replicas = int(strategy.num_replicas_in_sync)
    global_batch = global_batch_size(batch_size, strategy)
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    fix_torch_backend()
    run_data = open_data(train, val, data_dir=data_dir, validation_split=validation_split, seed=seed or 0,
                         class_names=class_names, download=download, on_error=on_error, verbose=verbose and chief)
    label_spec = run_data.train.element_spec[1]
    if options["precision"] == precision_lib.AUTO or options["jit_compile"] == precision_lib.AUTO:
        resolved = precision_lib.resolve(options["precision"], options["jit_compile"], name)
        jit_compile = _single_device_jit(resolved[1], options["jit_compile"], replicas)
        options = {**options, "precision": resolved[0], "jit_compile": jit_compile}
    with strategy.scope(), precision_lib.policy_scope(options["precision"]):
        if state is not None:
            model = load_model_file(cb.inside_run_dir(run_dir, state["checkpoint"]))
            options["precision"] = precision_lib.model_precision(model)  # what the checkpoint computes in
            initial_epoch = int(state["epoch"]) + 1
        else:
            model = _build(name if given is None else given, info, task=tasks.unbound_task(task, info),
                           num_classes=run_data.num_classes, channels=run_data.channels,
                           finetune_from=finetune_from, freeze_until=freeze_until)
            model = precision_lib.in_precision(model, options["precision"])
            initial_epoch = 0
    if state is not None and task is not None:
        check_resume(state.get("config", {}), {"task": tasks.describe(task)}, describe=tasks.describe)
    bound = tasks.resolve_task(task, info, model, label_spec)
    bound.check(model, run_data.num_classes)
    height, width, channels = model.input_shape[1:]
    mode = preprocessing or (info.preprocessing if info else "unit")
    train_samples = _count(run_data.train)
    steps = steps_per_epoch or max(1, math.ceil(train_samples / global_batch))  # the last partial batch is kept
    if state is None:
        with strategy.scope():
            lr = make_schedule(options["schedule"], options["learning_rate"], epochs=epochs, steps_per_epoch=steps)
            model.compile(optimizer=make_optimizer(options["optimizer"], lr, weight_decay=options["weight_decay"]),
                          jit_compile=options["jit_compile"], **bound.compile_kwargs(model))
    elif options["jit_compile"] != precision_lib.AUTO:
        model.jit_compile = options["jit_compile"]

    encoder = bound.encoder(model)

    def pipe(ds, training):
        return _pipeline(ds, image_size=(height, width), batch_size=global_batch, training=training,
                         augment=options["augment"] if training else None, preprocess=mode, seed=seed,
                         channels=channels, shuffle=shuffle)

    def encoded(batches):
        return batches.map(encoder).prefetch(-1) if encoder is not None and batches is not None else batches

    train_pipe = encoded(pipe(run_data.train, True))
    val_pipe = pipe(run_data.val, False) if run_data.val is not None else None
    val_fit = encoded(val_pipe)  # the same decoded, cached batches, with the targets the losses take
    adapted, adapt_seconds = [], 0.0
    if state is None:
        adapted, adapt_seconds = _adapt(model, strategy, pipe(run_data.train.take(ADAPT_IMAGES), False))
    config = {
        "model": name, "task": bound.get_config(), "task_kind": getattr(bound, "kind", bound.name),
        "dataset": run_data.dataset, "data_source": run_data.source, "class_names": run_data.class_names,
        "validation_split": validation_split if run_data.dataset != "custom" else None,
        "train_samples": train_samples, "eval_split": run_data.eval_split if val_pipe is not None else None,
        "epochs": epochs, "batch_size": batch_size, "global_batch_size": global_batch,
        "steps_per_epoch": steps, "optimizer": options["optimizer"], "learning_rate": options["learning_rate"],
        "schedule": options["schedule"], "augment": options["augment"], "weight_decay": options["weight_decay"],
        "precision": options["precision"], "jit_compile": options["jit_compile"],
        "backend": keras.backend.backend(), "strategy": type(strategy).__name__, "replicas": replicas, "seed": seed, "preprocessing": preprocessing_record(mode),
        "input_shape": [height, width, channels], "finetune_from": finetune_from, "freeze_until": freeze_until,
        "command": command, "adapted_layers": adapted, "adapt_seconds": adapt_seconds,
        "skipped_images": run_data.skipped_images,
    }
    if state is not None:
        config = _resumed_config(state, options, model, steps=steps, global_batch=global_batch,
                                 initial_epoch=initial_epoch, verbose=verbose and chief)
    monitor, mode_ = bound.monitor
    if val_pipe is None:
        monitor = monitor.replace("val_", "")
    previous_rows = (state or {}).get("history") or [{}]
    timer = cb.EpochTimer(previous_seconds=previous_rows[-1].get("train_seconds", adapt_seconds))
    checkpoint = cb.RunCheckpoint(run_dir, monitor=monitor, mode=mode_, state=state, write=chief,
                                  extra_state={"config": config})
    callbacks = [timer] + (bound.callbacks(model, val_pipe) if val_pipe is not None else [])
    if chief:
        callbacks.append(cb.ScalarLogger(os.path.join(run_dir, "logs")))
    callbacks.append(checkpoint)
    if verbose:
        callbacks.append(cb.EpochProgress(epochs))
        if progress_seconds:
            callbacks.append(cb.StepProgress(epochs, steps, every_seconds=progress_seconds))
        if chief:
            print(f"training {name} ({config['task_kind']}) on {config['dataset']} ({run_data.source}, "
                  f"{train_samples:,} images) for {epochs} epochs, global batch {global_batch} on {replicas} "
                  f"replica(s) [{type(strategy).__name__}] -> {run_dir}" + _resuming_text(state, epochs), flush=True)
    if chief and state is not None:
        cb.finish_commit(run_dir, state)
    if initial_epoch < epochs:
        _run_keras_fit(model, strategy, train_pipe, validation_data=val_fit, epochs=epochs, initial_epoch=initial_epoch,
                       callbacks=callbacks, verbose=0, steps_per_epoch=steps_per_epoch, shuffle=False)
    history = checkpoint.rows
    summary, report_path = None, None
    if evaluate and val_pipe is not None and chief:
        summary, report_path = _evaluate_and_report(model, bound, val_pipe, run_dir=run_dir, config=config,
                                                    history=history, checkpoint=checkpoint, started=started)
        if verbose:
            print(f"{config['eval_split']} {bound.headline(summary)}; report: {report_path}", flush=True)
    return FitResult(model=model, history=history, summary=summary, run_dir=run_dir, report_path=report_path)


def preprocessing_record(mode):
    """What the run's JSON config records of ``preprocessing``: a mode name as
    is; for a callable, ``"callable:module.qualname"``, which names it for the
    reader (a run directory cannot hold code, and ``kcc evaluate``/``predict``
    refuse such a run with an explanation rather than guess)."""
    if isinstance(mode, str):
        return mode
    module = getattr(mode, "__module__", None) or type(mode).__module__
    qualname = getattr(mode, "__qualname__", None) or type(mode).__qualname__
    return f"{CALLABLE_PREFIX}{module}.{qualname}"


def _resuming_text(state, epochs):
    if state is None:
        return ""
    trained = int(state["epoch"]) + 1
    return f"; resuming after epoch {trained}" if trained < epochs else f"; all {epochs} epochs trained: finishing the run"


def _resumed_config(state, options, model, *, steps, global_batch, initial_epoch, verbose):
    """The recorded config of a resumed run with this session's changes applied
    (``resume_changes``, listed under ``changed_on_resume`` with the epoch they
    start at) and its schedule re-planned when the plan changed."""
    config = dict(state.get("config", {}))
    changes = resume_changes(config, options)
    recorded_steps = config.get("steps_per_epoch") or round(
        int(keras.ops.convert_to_numpy(model.optimizer.iterations)) / initial_epoch)
    if changes or steps != recorded_steps:
        rates = replan_schedule(model, schedule=options["schedule"], learning_rate=options["learning_rate"],
                                epochs=options["epochs"], steps=steps, initial_epoch=initial_epoch)
        if verbose:
            print(f"re-planning the {options['schedule']} schedule over {options['epochs']} epochs"
                  + (f" instead of {config.get('epochs')}" if options["epochs"] != config.get("epochs") else "")
                  + (f", {steps} steps each instead of {recorded_steps}" if steps != recorded_steps else "")
                  + f": learning rate {rates[0]:.2e} -> {rates[1]:.2e} at this step", flush=True)
    if options["epochs"] != config.get("epochs"):
        config["resumed"] = f"planned {config.get('epochs')} epochs, extended to {options['epochs']}"
    listed = [f"{key} {_shown(old)} -> {_shown(new)} (from epoch {initial_epoch + 1})" for key, old, new in changes]
    if listed:
        config["changed_on_resume"] = list(config.get("changed_on_resume") or []) + listed
        if verbose:
            print("changed on resume: " + "; ".join(listed), flush=True)
    config.update({key: new for key, _, new in changes})
    config.update(global_batch_size=global_batch, steps_per_epoch=steps)
    return config


def _evaluate_and_report(model, task, val_pipe, *, run_dir, config, history, checkpoint, started):
    """Evaluate the reported model (the last one on a test split, ``best.keras``
    on a validation split) and write the report; returns (summary, report path)."""
    reported = model
    config["evaluated"] = "last"
    if config.get("eval_split") != "test" and os.path.exists(os.path.join(run_dir, "best.keras")):
        reported = load_model_file(os.path.join(run_dir, "best.keras"))
        config["evaluated"] = "best"
        config["best_epoch"] = checkpoint.best_epoch
    summary = task.evaluate(reported, val_pipe, config.get("class_names"))
    config["train_seconds"] = history[-1].get("train_seconds") if history else None
    config["wall_seconds_this_session"] = time.time() - started
    path = report_lib.write_report(run_dir, summary, history, config, task=task, model=reported, dataset=val_pipe)
    return summary, path


def _adapt(model, strategy, images):
    """Adapt the model's layers that need data (``adaptation.adapt_model``) to
    the first training images, un-augmented; returns (layer names, seconds).
    The seconds count as training time."""
    started = time.perf_counter()
    with strategy.scope():
        adapted = adapt_model(model, images, max_images=ADAPT_IMAGES)
    return adapted, (time.perf_counter() - started if adapted else 0.0)


def _run_keras_fit(model, strategy, *args, **kwargs):
    """``model.fit`` inside ``strategy.scope()``, with the work-arounds Keras's
    trainer needs under MultiWorkerMirroredStrategy (``_keras_compat.multi_worker_fit``)."""
    with strategy.scope(), _keras_compat.multi_worker_fit(model, strategy):
        return model.fit(*args, **kwargs)


def _describe_source(sources, data_dir=None):
    """What a run records as the source of a named dataset: ``kind: path`` of the
    ``data.Source`` of each split read (``sources``: split -> Source), once when
    they agree, and a note when an explicit ``data_dir`` did not hold a split."""
    described = {split: f"{source.kind}: {source.path}" for split, source in sources.items()}
    if data_dir:
        inside = os.path.abspath(data_dir)
        for split, source in sources.items():
            if source.kind != "generated" and os.path.commonpath([inside, os.path.abspath(source.path)]) != inside:
                described[split] += f" (not in data_dir {os.fspath(data_dir)})"
    if len(set(described.values())) == 1:
        return described["train"]
    return "; ".join(f"{split} {text}" for split, text in described.items())
