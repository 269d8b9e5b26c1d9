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

Everything model-related is created inside ``strategy.scope()``; ``batch_size`` is
the per-replica batch, so the global batch is ``batch_size ×
strategy.num_replicas_in_sync``. With ``val=None`` and a dataset name, the test
split is the validation set: the per-epoch curves show it, and the report
evaluates the *last* model on it (the best-by-validation checkpoint is kept as
``best.keras`` but not reported, since choosing it on the test set would flatter
it). With an explicit ``val`` the report evaluates ``best.keras``.
"""

import dataclasses
import math
import os
import time

import keras

from keras_cv_course import _keras_compat, tasks
from keras_cv_course.adaptation import ADAPT_IMAGES, adapt_model
from keras_cv_course.runs import model_path
from keras_cv_course.training import callbacks as cb
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
    """A Keras optimizer by name; ``learning_rate`` may be a schedule."""
    name = name.lower()
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay if weight_decay is not None else 1e-4)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=momentum, nesterov=True, weight_decay=weight_decay)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
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


def check_options(*, epochs, batch_size, learning_rate, weight_decay, validation_split):
    """Refuse option values that would train nothing or silently wrong, naming the value."""
    def bad(option, value, expected):
        raise ValueError(f"{option} must be {expected}; got {value!r}")

    for option, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            bad(option, value, "a positive integer")
    if not isinstance(learning_rate, (int, float)) or not math.isfinite(learning_rate) or learning_rate <= 0:
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


def open_data(train, val=None, *, data_dir=None, validation_split=0.2, seed=0, class_names=None):
    """The ``RunData`` of ``fit``'s ``train``/``val`` arguments.

    ``train``: a dataset name of ``data.list_datasets()`` (``val=None``: its test
    split validates), an image folder (``data.folder_split``: a sibling
    ``validation/`` folder, else ``validation_split`` of it held out with
    ``seed``), or an unbatched ``tf.data.Dataset`` (its ``class_names``
    attribute, as Keras' ``image_dataset_from_directory`` sets it, is used)."""
    data = _data()
    if isinstance(train, (str, os.PathLike)) and data.is_image_folder(train):
        part = data.folder_split(train, "train", validation_split=validation_split, seed=seed)
        if val is None:
            held = data.folder_split(train, "validation", validation_split=validation_split, seed=seed)
            val_ds, split, source = held.dataset, "validation", f"{part.source}; validation {held.source}"
        else:
            val_ds, split, source = _load_split(val, "test", data_dir), "validation", part.source
        names = list(class_names or part.class_names)
        return RunData(part.dataset, val_ds, split, dataset_label(train), source, names, len(names), 3)
    if isinstance(train, str):
        facts = data.info(train)
        split = "test" if val is None else "validation"
        val_ds = _load_split(train if val is None else val, "test", data_dir)
        names = list(class_names or facts.class_names)
        return RunData(data.load(train, "train", data_dir=data_dir), val_ds, split, train,
                       _describe_source(train, data_dir), names, facts.num_classes, facts.image_shape[-1])
    names = class_names or getattr(train, "class_names", None)
    val_ds = _load_split(val, "test", data_dir) if val is not None else None
    image_spec = train.element_spec[0]
    channels = image_spec.shape[-1] if image_spec.shape.rank == 3 else None
    return RunData(train, val_ds, "validation", "custom", "in-memory dataset", list(names) if names else None,
                   len(names) if names else None, channels)


def _count(ds):
    cardinality = int(ds.cardinality())
    if cardinality >= 0:
        return cardinality
    return sum(1 for _ in ds)


def _load_split(source, split, data_dir):
    if isinstance(source, (str, os.PathLike)) and _data().is_image_folder(source):
        return _data().folder_split(source, "validation" if split == "test" else split).dataset
    if isinstance(source, str):
        return _data().load(source, split, data_dir=data_dir)
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
    """The model to train (inside the strategy scope), frozen before ``freeze_until``."""
    if finetune_from:
        model = keras.models.load_model(model_path(finetune_from), compile=False)
    elif isinstance(model_or_name, (str, os.PathLike)) and str(model_or_name).endswith(".keras"):
        model = keras.models.load_model(model_path(os.fspath(model_or_name)), compile=False)
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


RESUME_KEYS = ("model", "dataset", "task")


def check_resume(recorded, requested, describe=None):
    """Refuse to resume a run with another model, dataset or task than it recorded,
    naming both values (``describe`` turns a recorded value into the requested
    value's form)."""
    for key in RESUME_KEYS:
        have, want = recorded.get(key), requested.get(key)
        if describe is not None and have is not None and key == "task":
            have = describe(have)
        if have is not None and want is not None and have != want:
            raise ValueError(f"Cannot resume this run with {key} {want!r}: it was trained with {key} {have!r}. "
                             "Resume with the recorded value or start a new run directory.")


def extend_schedule(model, config, *, epochs, steps):
    """Re-plan the learning-rate schedule of a resumed run whose ``epochs``
    differ from the recorded ones: the new schedule is the one a run of
    ``epochs`` epochs would have had from the start, and training continues from
    the restored step on it (so a finished one-cycle run asked for more epochs
    rises back to the longer cycle's rate at this step instead of training on at
    its final 1e-8). Returns ``(old rate, new rate)`` at the current step, or
    None when nothing changes (same epochs, or a constant schedule)."""
    if epochs == config.get("epochs") or config.get("schedule", "constant") == "constant":
        return None
    optimizer = model.optimizer
    old = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    optimizer.learning_rate = make_schedule(config["schedule"], config["learning_rate"], epochs=epochs,
                                            steps_per_epoch=steps)
    new = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    return old, new


def fit(
    model_or_name,
    train,
    val=None,
    *,
    task=None,
    epochs=10,
    batch_size=128,
    optimizer="adam",
    learning_rate=1e-3,
    schedule="constant",
    augment=None,
    strategy="auto",
    run_dir=None,
    resume=False,
    seed=0,
    weight_decay=None,
    finetune_from=None,
    freeze_until=None,
    data_dir=None,
    preprocessing=None,
    class_names=None,
    validation_split=0.2,
    steps_per_epoch=None,
    verbose=1,
    progress_seconds=10.0,
    evaluate=True,
    shuffle=True,
    command=None,
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
    preset such as "fashion"). ``strategy``: a name for ``get_strategy`` or a
    ``tf.distribute.Strategy``. ``resume``: continue the run in ``run_dir``
    after its last completed epoch (refused for another model, dataset or task;
    more ``epochs`` than recorded re-plan the schedule, see
    ``extend_schedule``). ``finetune_from``: a .keras file or run directory to
    start from; ``freeze_until``: freeze every layer before this one
    (surgery.freeze). ``progress_seconds``: with ``verbose``, a progress line
    inside an epoch at most this often (0: per-epoch lines only).
    ``shuffle=False`` keeps the training data in order (for exact comparisons).
    A fresh model's layers that need data (``adapt`` and ``is_adapted``, see
    ``keras_cv_course.adaptation``; ``blocks.PatchWhitening``) are adapted to the
    first 5,000 training images, un-augmented, before the first step; those
    seconds count as training time. Returns a ``FitResult``.
    """
    started = time.time()
    check_options(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, weight_decay=weight_decay,
                  validation_split=validation_split)
    name, info, given = _resolve_model(model_or_name)
    if isinstance(strategy, str):
        strategy = get_strategy(strategy)
    replicas = int(strategy.num_replicas_in_sync)
    global_batch = global_batch_size(batch_size, strategy)
    chief = is_chief(strategy)
    run_dir = run_dir or os.path.join("runs", f"{name}-{time.strftime('%Y%m%d-%H%M%S')}")
    state = cb.read_state(run_dir) if resume else None
    if chief:
        if not resume and cb.read_state(run_dir) is not None:
            raise ValueError(f"{run_dir!r} already holds a run; pass resume=True to continue it or choose another run_dir")
        os.makedirs(run_dir, exist_ok=True)
    if seed is not None:
        keras.utils.set_random_seed(int(seed))

    if state is not None:
        check_resume(state.get("config", {}), {"model": name, "dataset": dataset_label(train)})
    run_data = open_data(train, val, data_dir=data_dir, validation_split=validation_split, seed=seed or 0,
                         class_names=class_names)
    label_spec = run_data.train.element_spec[1]
    with strategy.scope():
        if state is not None:
            model = keras.models.load_model(cb.inside_run_dir(run_dir, state["checkpoint"]))
            initial_epoch = int(state["epoch"]) + 1
        else:
            model = _build(model_or_name if given is None else given, info, task=tasks.unbound_task(task, info),
                           num_classes=run_data.num_classes, channels=run_data.channels,
                           finetune_from=finetune_from, freeze_until=freeze_until)
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
            lr = make_schedule(schedule, learning_rate, epochs=epochs, steps_per_epoch=steps)
            model.compile(optimizer=make_optimizer(optimizer, lr, weight_decay=weight_decay), **bound.compile_kwargs(model))

    encoder = bound.encoder(model)

    def pipe(ds, training):
        return _pipeline(ds, image_size=(height, width), batch_size=global_batch, training=training,
                         augment=augment if training else None, preprocess=mode, seed=seed, channels=channels,
                         shuffle=shuffle)

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
        "epochs": epochs, "batch_size": batch_size, "global_batch_size": global_batch, "optimizer": optimizer,
        "learning_rate": learning_rate, "schedule": schedule, "augment": augment, "weight_decay": weight_decay,
        "strategy": type(strategy).__name__, "replicas": replicas, "seed": seed, "preprocessing": mode,
        "input_shape": [height, width, channels], "finetune_from": finetune_from, "freeze_until": freeze_until,
        "command": command, "adapted_layers": adapted, "adapt_seconds": adapt_seconds,
    }
    if state is not None:
        config = _resumed_config(state, model, epochs=epochs, steps=steps, command=command, verbose=verbose and chief)
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
                  f"replica(s) [{type(strategy).__name__}] -> {run_dir}"
                  + (f"; resuming after epoch {initial_epoch}" if state else ""), flush=True)
    if chief:
        cb.write_history_csv(os.path.join(run_dir, "history.csv"), checkpoint.rows) if checkpoint.rows else None
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


def _resumed_config(state, model, *, epochs, steps, command, verbose):
    """The recorded config of a resumed run, with a longer (or shorter) plan of
    ``epochs`` applied to its schedule."""
    config = dict(state.get("config", {}))
    config["command"] = command or config.get("command")
    change = extend_schedule(model, config, epochs=epochs, steps=steps)
    if epochs != config.get("epochs"):
        config["resumed"] = f"planned {config.get('epochs')} epochs, extended to {epochs}"
        if verbose:
            rates = f": learning rate {change[0]:.2e} -> {change[1]:.2e} at this step" if change else ""
            print(f"re-planning the {config.get('schedule')} schedule over {epochs} epochs instead of "
                  f"{config.get('epochs')}{rates}", flush=True)
        config["epochs"] = epochs
    return config


def _evaluate_and_report(model, task, val_pipe, *, run_dir, config, history, checkpoint, started):
    """Evaluate the reported model (the last one on a test split, ``best.keras``
    on a validation split) and write the report; returns (summary, report path)."""
    reported = model
    config["evaluated"] = "last"
    if config.get("eval_split") != "test" and os.path.exists(os.path.join(run_dir, "best.keras")):
        reported = keras.models.load_model(os.path.join(run_dir, "best.keras"))
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


def _describe_source(train, data_dir):
    if not isinstance(train, str):
        return "in-memory dataset"
    try:
        source = _data().locate(train, "train", data_dir=data_dir, download=False)
        return f"{source.kind}: {source.path}"
    except Exception:  # noqa: BLE001 - the description is informative only
        return "unknown source"
