"""``fit``: train any registered model on a dataset and leave a readable run directory.

    from keras_cv_course import training
    result = training.fit("lenet5", "fashion_mnist", epochs=10, batch_size=128, run_dir="runs/lenet5")

A run directory holds::

    best.keras  last.keras        the best (by val_accuracy) and last models
    history.csv                   one row per epoch (lr, train_seconds, losses, metrics)
    logs/                         TensorBoard
    report.json  report.md        top-1/top-5 accuracy, error, balanced error, per-class
    confusion_matrix.png  learning_curve_*.png  [roc_curve.png]
    state.json  checkpoints/      what ``resume=True`` restarts from

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
import time

import keras

from keras_cv_course.blocks.whitening import ADAPT_IMAGES, adapt_model
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


def _dataset_facts(train, model_info_):
    """(num_classes, class_names, image_shape) from a dataset name, else from the model."""
    if isinstance(train, str):
        facts = _data().info(train)
        return facts.num_classes, list(facts.class_names), tuple(facts.image_shape)
    classes = model_info_.classes if model_info_ else None
    return classes, None, None


def _count(ds):
    cardinality = int(ds.cardinality())
    if cardinality >= 0:
        return cardinality
    return sum(1 for _ in ds)


def _load_split(source, split, data_dir):
    if isinstance(source, str):
        return _data().load(source, split, data_dir=data_dir)
    return source


def _pipeline(ds, *, image_size, batch_size, training, augment, preprocess, seed, channels, shuffle=True):
    return _data().pipeline(
        ds, image_size=image_size, batch_size=batch_size, training=training, augment=augment,
        preprocess=preprocess, seed=seed, channels=channels, shuffle_buffer=10_000 if shuffle else 0,
    )


def _resolve_model(model_or_name):
    if isinstance(model_or_name, str):
        from keras_cv_course.models import model_info

        return model_or_name, model_info(model_or_name)
    return getattr(model_or_name, "name", "model"), None


def _build(model_or_name, info, *, classes, image_shape, finetune_from, freeze_until):
    """The model to train (inside the strategy scope), frozen before ``freeze_until``."""
    if finetune_from:
        model = keras.models.load_model(_model_path(finetune_from), compile=False)
    elif not isinstance(model_or_name, str):
        model = model_or_name
    else:
        from keras_cv_course.models import get_model

        kwargs = {} if classes is None else {"classes": classes}
        channels = image_shape[-1] if image_shape else info.input_shape[-1]
        if info.preprocessing in ("caffe", "torch"):  # ImageNet statistics need RGB
            channels = 3
        model = get_model(model_or_name, input_shape=(*info.input_shape[:2], channels), **kwargs)
    if freeze_until:
        from keras_cv_course.surgery import freeze

        freeze(model, until=freeze_until)
    return model


def _model_path(path):
    """A .keras file, or the best/last model of a run directory."""
    if os.path.isdir(path):
        for name in ("best.keras", "last.keras"):
            if os.path.exists(os.path.join(path, name)):
                return os.path.join(path, name)
        raise FileNotFoundError(f"{path!r} is a directory without best.keras or last.keras")
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model file {path!r}")
    return path


def _compile(model, *, optimizer, classes):
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if classes and classes >= 5:
        metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5_accuracy"))
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=metrics)
    return model


def fit(
    model_or_name,
    train,
    val=None,
    *,
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
    steps_per_epoch=None,
    verbose=1,
    evaluate=True,
    shuffle=True,
    command=None,
):
    """Train ``model_or_name`` on ``train``, validate on ``val``, write ``run_dir``.

    ``model_or_name``: a registered name (built for the dataset's classes and
    channels) or a ``keras.Model`` (built by you, ideally inside the strategy's
    scope). ``train``/``val``: dataset names (``kcc`` names such as
    "fashion_mnist") or unbatched ``tf.data.Dataset`` of ``(uint8 image, label)``;
    ``val=None`` with a name uses its test split. ``batch_size``: per replica.
    ``schedule``: constant | step | cosine | onecycle (peak ``learning_rate``).
    ``augment``: passed to ``data.pipeline`` (None or a preset such as "fashion").
    ``strategy``: a name for ``get_strategy`` or a ``tf.distribute.Strategy``.
    ``resume``: continue the run in ``run_dir`` after its last completed epoch.
    ``finetune_from``: a .keras file or run directory to start from;
    ``freeze_until``: freeze every layer before this one (surgery.freeze).
    ``shuffle=False`` keeps the training data in order (for exact comparisons).
    A fresh model's data-dependent layers (``blocks.PatchWhitening``) are
    adapted to the first 5,000 training images, un-augmented, before the first
    step; those seconds count as training time. Returns a ``FitResult``.
    """
    started = time.time()
    name, info = _resolve_model(model_or_name)
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

    classes, dataset_class_names, image_shape = _dataset_facts(train, info)
    class_names = list(class_names) if class_names is not None else dataset_class_names
    train_ds = _load_split(train, "train", data_dir)
    eval_split = "validation"
    if val is None and isinstance(train, str):
        val, eval_split = train, "test"
    val_ds = _load_split(val, "test", data_dir) if val is not None else None
    data_source = _describe_source(train, data_dir)

    with strategy.scope():
        if state is not None:
            model = keras.models.load_model(os.path.join(run_dir, state["checkpoint"]))
            initial_epoch = int(state["epoch"]) + 1
        else:
            model = _build(model_or_name, info, classes=classes, image_shape=image_shape,
                           finetune_from=finetune_from, freeze_until=freeze_until)
            initial_epoch = 0
    classes = classes or int(model.output_shape[-1])
    height, width, channels = model.input_shape[1:]
    mode = preprocessing or (info.preprocessing if info else "unit")
    train_samples = _count(train_ds)
    steps = steps_per_epoch or max(1, math.ceil(train_samples / global_batch))  # the last partial batch is kept
    if state is None:
        with strategy.scope():
            lr = make_schedule(schedule, learning_rate, epochs=epochs, steps_per_epoch=steps)
            _compile(model, optimizer=make_optimizer(optimizer, lr, weight_decay=weight_decay), classes=classes)

    def pipe(ds, training):
        return _pipeline(ds, image_size=(height, width), batch_size=global_batch, training=training,
                         augment=augment if training else None, preprocess=mode, seed=seed, channels=channels,
                         shuffle=shuffle)

    train_pipe = pipe(train_ds, True)
    val_pipe = pipe(val_ds, False) if val_ds is not None else None
    adapted, adapt_seconds = [], 0.0
    if state is None:
        adapted, adapt_seconds = _adapt(model, strategy, pipe(train_ds.take(ADAPT_IMAGES), False))
    config = {
        "model": name, "dataset": train if isinstance(train, str) else "custom", "data_source": data_source,
        "train_samples": train_samples, "eval_split": eval_split if val_pipe is not None else None,
        "epochs": epochs, "batch_size": batch_size, "global_batch_size": global_batch, "optimizer": optimizer,
        "learning_rate": learning_rate, "schedule": schedule, "augment": augment, "weight_decay": weight_decay,
        "strategy": type(strategy).__name__, "replicas": replicas, "seed": seed, "preprocessing": mode,
        "input_shape": [height, width, channels], "finetune_from": finetune_from, "freeze_until": freeze_until,
        "command": command, "adapted_layers": adapted, "adapt_seconds": adapt_seconds,
    }
    if state is not None:
        config = {**state.get("config", {}), "command": command or state.get("config", {}).get("command")}
    previous_rows = (state or {}).get("history") or [{}]
    timer = cb.EpochTimer(previous_seconds=previous_rows[-1].get("train_seconds", adapt_seconds))
    checkpoint = cb.RunCheckpoint(run_dir, monitor="val_accuracy" if val_pipe is not None else "accuracy",
                                  state=state, write=chief, extra_state={"config": config})
    callbacks = [timer]
    if chief:
        callbacks.append(cb.ScalarLogger(os.path.join(run_dir, "logs")))
    callbacks.append(checkpoint)
    if verbose:
        callbacks.append(cb.EpochProgress(epochs))
        if chief:
            print(f"training {name} on {config['dataset']} ({data_source}, {train_samples:,} images) for {epochs} epochs, "
                  f"global batch {global_batch} on {replicas} replica(s) [{type(strategy).__name__}] -> {run_dir}"
                  + (f"; resuming after epoch {initial_epoch}" if state else ""), flush=True)
    if chief:
        cb.write_history_csv(os.path.join(run_dir, "history.csv"), checkpoint.rows) if checkpoint.rows else None
    if initial_epoch < epochs:
        _run_keras_fit(model, strategy, train_pipe, validation_data=val_pipe, epochs=epochs, initial_epoch=initial_epoch,
                       callbacks=callbacks, verbose=0, steps_per_epoch=steps_per_epoch, shuffle=False)
    history = checkpoint.rows
    summary, report_path = None, None
    if evaluate and val_pipe is not None and chief:
        reported = model
        config["evaluated"] = "last"
        if eval_split != "test" and os.path.exists(os.path.join(run_dir, "best.keras")):
            reported = keras.models.load_model(os.path.join(run_dir, "best.keras"))
            config["evaluated"] = "best"
            config["best_epoch"] = checkpoint.best_epoch
        y_true, y_prob = report_lib.predict_dataset(reported, val_pipe)
        from keras_cv_course.metrics import classification_summary

        summary = classification_summary(y_true, y_prob, class_names)
        config["train_seconds"] = history[-1].get("train_seconds") if history else None
        config["wall_seconds_this_session"] = time.time() - started
        report_path = report_lib.write_report(run_dir, summary, history, config, y_true=y_true, y_prob=y_prob)
        if verbose:
            top5 = summary["top5_accuracy"]
            print(f"{eval_split} top-1 accuracy {summary['top1_accuracy']:.4f}"
                  + (f", top-5 {top5:.4f}" if top5 is not None else "")
                  + f", balanced error {summary['balanced_error_rate']:.4f}; report: {report_path}", flush=True)
    return FitResult(model=model, history=history, summary=summary, run_dir=run_dir, report_path=report_path)


def _adapt(model, strategy, images):
    """Set the model's data-dependent layers (``PatchWhitening``) from the
    first training images, un-augmented; returns (layer names, seconds). The
    seconds count as training time."""
    started = time.perf_counter()
    with strategy.scope():
        adapted = adapt_model(model, images, max_images=ADAPT_IMAGES)
    return adapted, (time.perf_counter() - started if adapted else 0.0)


def _run_keras_fit(model, strategy, *args, **kwargs):
    """``model.fit`` inside ``strategy.scope()``.

    Two work-arounds for Keras 3.15's TensorFlow trainer under
    MultiWorkerMirroredStrategy, which otherwise fails before the first step:
    - for a model created under a strategy it first builds its metrics from one
      batch averaged with ``strategy.reduce``, which cannot take that per-replica
      batch ("Attempt to convert a value (PerReplica...)"); handing the model the
      strategy through the scope instead makes Keras build the metrics when it
      traces the train step — the same build, without the reduce;
    - it averages each step's scalar logs with ``strategy.reduce("MEAN", v,
      axis=0)`` ("Invalid reduction dimension 0 for input with 0 dimensions");
      during this fit the trainer's ``reduce_per_replica`` averages them over the
      replicas with ``axis=None`` instead (``_multi_worker_log_reduce``).
    """
    import tensorflow as tf

    with strategy.scope():
        if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return model.fit(*args, **kwargs)
        model._distribute_strategy = None
        with _multi_worker_log_reduce():
            return model.fit(*args, **kwargs)


@contextlib.contextmanager
def _multi_worker_log_reduce():
    from keras import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and tf_trainer._collective_all_reduce_multi_worker(strategy):
            return tree.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return original(values, strategy, reduction)

    tf_trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        tf_trainer.reduce_per_replica = original


def _describe_source(train, data_dir):
    if not isinstance(train, str):
        return "in-memory dataset"
    try:
        source = _data().locate(train, "train", data_dir=data_dir, download=False)
        return f"{source.kind}: {source.path}"
    except Exception:  # noqa: BLE001 - the description is informative only
        return "unknown source"
