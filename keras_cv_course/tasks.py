"""Tasks: what training means for a kind of model (../shared/DESIGN.md §5).

A ``Task`` tells ``training.fit``, the run directory, resume and ``kcc
train/evaluate/predict`` how to compile, monitor, evaluate and report a model,
so one training path serves every kind of model:

- ``ClassificationTask``: one label per image. Its ``kind`` is
  ``"multiclass"`` (softmax; integer or one-hot labels), ``"binary"`` (one
  sigmoid output, labels 0/1; the report has the ROC curve and AUC) or
  ``"multilabel"`` (a sigmoid per class, multi-hot labels; the report has
  per-class average precision). ``kind=None`` infers it from the model's
  output (units, last activation) and the labels' shape.
- ``SegmentationTask``: a class id per pixel, 255 = void; pixel-wise
  cross-entropy ignoring void, mean IU monitored, FCN's four measures reported
  (Long, Shelhamer & Darrell 2015).
- ``DetectionTask``: boxes and classes per image, a detector trained through
  its ``detection.heads.DetectionHead`` (target encoding in the pipeline,
  decoding to boxes), ``val_map50`` monitored, VOC/COCO AP reported.

``get_task(spec)`` takes a ``Task``, a name of ``TASK_NAMES`` or a recorded
config (``task.get_config()``). A task is *bound* to a model and its labels
with ``task.bind(model, label_spec)`` before use; a bound task says the kind it
resolved to and refuses a model whose outputs do not fit the data
(``check``).
"""

import dataclasses

import keras
import numpy as np

from keras_cv_course import metrics as cls_metrics

TASK_NAMES = ("classification", "multiclass", "binary", "multilabel", "segmentation", "detection")
CLASSIFICATION_KINDS = ("multiclass", "binary", "multilabel")
VOID = 255


def get_task(spec):
    """A ``Task`` from a task, a name of ``TASK_NAMES`` or a ``get_config()`` dict."""
    if isinstance(spec, Task):
        return spec
    if isinstance(spec, dict):
        config = dict(spec)
        name = config.pop("name", None)
        if name == "classification":
            return ClassificationTask(**config)
        if name == "segmentation":
            return SegmentationTask(**config)
        if name == "detection":
            return DetectionTask(**config)
        raise ValueError(f"Unknown recorded task {spec!r}; expected a config with name in "
                         "('classification', 'segmentation', 'detection')")
    if spec in CLASSIFICATION_KINDS:
        return ClassificationTask(kind=spec)
    if spec == "classification":
        return ClassificationTask()
    if spec == "segmentation":
        return SegmentationTask()
    if spec == "detection":
        return DetectionTask()
    raise ValueError(f"Unknown task {spec!r}; expected one of {TASK_NAMES}")


def describe(task):
    """A task's short name: the classification kind ("binary", ...) when known,
    else the task name; for comparing a requested task with a recorded one."""
    task = get_task(task)
    return getattr(task, "kind", None) or task.name


def output_activation(model):
    """The activation of ``model``'s (single) output layer: ``"softmax"``,
    ``"sigmoid"``, ``"linear"`` or None when it cannot be told (nested models are
    followed to their last layer)."""
    layer = model.layers[-1] if getattr(model, "layers", None) else None
    while isinstance(layer, keras.Model) and layer.layers:
        layer = layer.layers[-1]
    if layer is None:
        return None
    activation = getattr(layer, "activation", None)
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    if activation is None:
        return None
    name = getattr(activation, "__name__", str(activation))
    return name if name in ("softmax", "sigmoid", "linear") else None


def _units(model):
    shape = model.output_shape
    if isinstance(shape, list):
        raise ValueError(f"{model.name!r} has {len(shape)} outputs; this task takes a single-output model")
    return shape[-1], shape


class Task:
    """The protocol ``training.fit`` and ``kcc`` rely on (DESIGN.md §5)."""

    name = "task"
    monitor = ("val_loss", "min")

    def bind(self, model, label_spec=None):
        """This task resolved for ``model`` and labels of ``label_spec`` (a
        ``tf.TensorSpec`` of one element's label, or None)."""
        return self

    def check(self, model, num_classes):
        """Raise ``ValueError`` when ``model`` cannot learn ``num_classes`` classes."""

    def build_kwargs(self, num_classes):
        """Builder keyword arguments that make a registered model fit the data."""
        return {} if num_classes is None else {"classes": num_classes}

    def compile_kwargs(self, model):
        """``loss`` and ``metrics`` for ``model.compile``."""
        raise NotImplementedError

    def encoder(self, model):
        """A per-batch ``(images, targets) -> (images, targets)`` map applied after
        the pipeline (None: targets as they are)."""
        return None

    def callbacks(self, model, dataset):
        """Keras callbacks that add the monitored metric to the epoch logs from the
        un-encoded validation ``dataset`` (listed before the run checkpoint)."""
        return []

    def evaluate(self, model, dataset, class_names=None):
        """The summary dict of ``model`` on a batched ``dataset``."""
        raise NotImplementedError

    def headline(self, summary):
        """One line with the summary's main figures, for the console."""
        raise NotImplementedError

    def report(self, summary, run_dir, *, model=None, dataset=None):
        """``(markdown lines, {figure key: file name})`` of the task's results,
        figures written into ``run_dir`` (``model`` and ``dataset`` let a task
        draw example predictions)."""
        raise NotImplementedError

    def get_config(self):
        """What the run records; ``get_task(config)`` rebuilds the task."""
        return {"name": self.name}

    def __eq__(self, other):
        return isinstance(other, Task) and self.get_config() == other.get_config()

    def __repr__(self):
        options = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({options})"


# ----------------------------------------------------------------------------- classification


@dataclasses.dataclass(eq=False, repr=False)
class ClassificationTask(Task):
    """Image classification: multi-class (softmax over integer or one-hot
    labels), binary (one sigmoid, labels 0/1) or multi-label (a sigmoid per
    class, multi-hot labels).

    ``kind`` None infers it when bound: one output unit → binary; a sigmoid
    layer with as many units as the labels' length → multilabel; otherwise
    multiclass. ``one_hot`` None infers it from the labels' rank. A linear last
    layer means logits (``from_logits=True`` losses and metrics).
    ``threshold`` turns sigmoid scores into decisions (binary accuracy,
    multi-label precision/recall).
    """

    kind: str = None
    one_hot: bool = None
    from_logits: bool = None
    threshold: float = 0.5
    name = "classification"

    def __post_init__(self):
        if self.kind is not None and self.kind not in CLASSIFICATION_KINDS:
            raise ValueError(f"Unknown classification kind {self.kind!r}; expected one of {CLASSIFICATION_KINDS}")

    @property
    def monitor(self):
        return ("val_auc", "max") if self.kind == "multilabel" else ("val_accuracy", "max")

    def bind(self, model, label_spec=None):
        units, _ = _units(model)
        activation = output_activation(model)
        label_length = _label_length(label_spec)
        kind = self.kind or _infer_kind(units, activation, label_length)
        one_hot = self.one_hot
        if one_hot is None:
            one_hot = kind == "multiclass" and label_length is not None
        from_logits = self.from_logits if self.from_logits is not None else activation == "linear"
        bound = dataclasses.replace(self, kind=kind, one_hot=bool(one_hot), from_logits=bool(from_logits))
        bound._check_labels(units, label_length)
        return bound

    def _check_labels(self, units, label_length):
        if self.kind == "binary" and units != 1:
            raise ClassCountError(_top_mismatch(units, "one sigmoid output for its 2 classes", 1))
        if label_length is not None and self.kind != "binary" and label_length != units:
            raise ValueError(f"The labels are vectors of length {label_length} but the model has {units} outputs")

    def build_kwargs(self, num_classes):
        if self.kind == "binary":
            return {"classes": 1, "classifier_activation": "sigmoid"}
        if self.kind == "multilabel":
            return {"classes": num_classes, "classifier_activation": "sigmoid"} if num_classes else {"classifier_activation": "sigmoid"}
        return super().build_kwargs(num_classes)

    def check(self, model, num_classes):
        units, _ = _units(model)
        if num_classes is None:
            return
        expected = 1 if self.kind == "binary" else num_classes
        if self.kind == "binary" and num_classes != 2:
            raise ClassCountError(f"A binary task needs two classes; the data has {num_classes}")
        if units != expected:
            what = "one sigmoid output for its 2 classes" if self.kind == "binary" else f"{num_classes} classes"
            raise ClassCountError(_top_mismatch(units, what, expected))

    def compile_kwargs(self, model):
        units, _ = _units(model)
        logits = bool(self.from_logits)
        if self.kind in ("binary", "multilabel"):
            threshold = 0.0 if logits else self.threshold
            auc = keras.metrics.AUC(name="auc", from_logits=logits, multi_label=self.kind == "multilabel",
                                    num_labels=units if self.kind == "multilabel" else None)
            return {"loss": keras.losses.BinaryCrossentropy(from_logits=logits),
                    "metrics": [keras.metrics.BinaryAccuracy(name="accuracy", threshold=threshold), auc]}
        if self.one_hot:
            loss = keras.losses.CategoricalCrossentropy(from_logits=logits)
            found = [keras.metrics.CategoricalAccuracy(name="accuracy")]
            top5 = keras.metrics.TopKCategoricalAccuracy(k=5, name="top5_accuracy")
        else:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=logits)
            found = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
            top5 = keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5_accuracy")
        return {"loss": loss, "metrics": found + ([top5] if units >= 5 else [])}

    def probabilities(self, outputs):
        """Model outputs as probabilities (softmax / sigmoid of logits)."""
        outputs = np.asarray(outputs, np.float64)
        if not self.from_logits:
            return outputs
        if self.kind == "multiclass":
            shifted = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
            return shifted / shifted.sum(axis=-1, keepdims=True)
        return 1.0 / (1.0 + np.exp(-outputs))

    def evaluate(self, model, dataset, class_names=None):
        y_true, outputs = predict_dataset(model, dataset)
        y_prob = self.probabilities(outputs)
        if self.kind == "multilabel":
            summary = cls_metrics.multilabel_summary(y_true, y_prob, class_names, threshold=self.threshold)
            summary["pr_curves"] = _pr_curves(y_true, y_prob, summary["class_names"])
        else:
            summary = cls_metrics.classification_summary(y_true, y_prob, class_names)
            if "roc_auc" in summary:
                scores = y_prob[:, -1]
                fpr, tpr, thresholds = cls_metrics.roc_curve(_sparse(y_true), scores)
                summary["roc_curve"] = _thin({"fpr": fpr, "tpr": tpr, "thresholds": thresholds})
        summary["kind"] = self.kind
        return summary

    def headline(self, summary):
        if self.kind == "multilabel":
            return (f"mean average precision {summary['mean_average_precision']:.4f}, "
                    f"micro F1 {summary['micro_f1']:.4f}, subset accuracy {summary['subset_accuracy']:.4f}")
        top5 = summary.get("top5_accuracy")
        line = f"top-1 accuracy {summary['top1_accuracy']:.4f}" + (f", top-5 {top5:.4f}" if top5 is not None else "")
        line += f", balanced error {summary['balanced_error_rate']:.4f}"
        return line + (f", ROC AUC {summary['roc_auc']:.4f}" if "roc_auc" in summary else "")

    def report(self, summary, run_dir, *, model=None, dataset=None):
        from keras_cv_course.training import report as report_lib

        if self.kind == "multilabel":
            return report_lib.multilabel_section(summary, run_dir)
        return report_lib.classification_section(summary, run_dir)

    def get_config(self):
        return {"name": self.name, "kind": self.kind, "one_hot": self.one_hot, "from_logits": self.from_logits,
                "threshold": self.threshold}


class ClassCountError(ValueError):
    """The model's top scores another number of classes than the data has."""


def _top_mismatch(units, wanted, expected):
    return (f"The model's top has {units} output(s) but the data needs {wanted}. Replace the top first "
            f"(surgery.transfer_classifier(conv_base, classes={expected}) or get_model(..., classes={expected})).")


def _label_length(label_spec):
    """The length of vector labels (one-hot / multi-hot), None for scalar labels."""
    if label_spec is None or isinstance(label_spec, dict):
        return None
    shape = getattr(label_spec, "shape", None)
    if shape is None or len(shape) == 0:
        return None
    if len(shape) == 1:
        return shape[0] if shape[0] != 1 else None
    raise ValueError(f"Classification labels are scalars or vectors; got labels of shape {tuple(shape)} "
                     "(masks need task='segmentation')")


def _infer_kind(units, activation, label_length):
    if units == 1:
        return "binary"
    if activation == "sigmoid" and label_length == units:
        return "multilabel"
    return "multiclass"


def _sparse(y_true):
    y_true = np.asarray(y_true)
    return y_true.argmax(axis=1) if y_true.ndim == 2 and y_true.shape[1] > 1 else y_true.reshape(-1)


def _thin(curve, points=500):
    """A curve's arrays as lists, thinned to at most ``points`` points (ends kept)."""
    length = len(next(iter(curve.values())))
    keep = np.unique(np.linspace(0, length - 1, min(points, length)).round().astype(int))
    return {key: [float(v) for v in np.asarray(values)[keep]] for key, values in curve.items()}


def _pr_curves(y_true, y_prob, class_names):
    curves = {}
    for index, name in enumerate(class_names):
        positives = np.asarray(y_true)[:, index]
        if positives.min() == positives.max():
            continue
        precision, recall, thresholds = cls_metrics.precision_recall_curve(positives, y_prob[:, index])
        count = min(len(precision), len(recall))
        curves[name] = _thin({"precision": precision[:count], "recall": recall[:count]})
    return curves


def predict_dataset(model, dataset):
    """``(targets, outputs)`` numpy arrays over a batched ``(inputs, targets)`` dataset."""
    targets, outputs = [], []
    for inputs, batch_targets in dataset:
        outputs.append(keras.ops.convert_to_numpy(model(inputs, training=False)))
        targets.append(np.asarray(batch_targets))
    if not targets:
        raise ValueError("the evaluation dataset is empty")
    return np.concatenate(targets), np.concatenate(outputs).astype(np.float64)


# ----------------------------------------------------------------------------- segmentation


@dataclasses.dataclass(eq=False, repr=False)
class SegmentationTask(Task):
    """Semantic segmentation: a class id per pixel, ``ignore_index`` (255) void.

    Loss: pixel-wise softmax cross-entropy averaged over the non-void pixels
    (``SparseCategoricalCrossentropy(ignore_class=255)``; FCN's Caffe loss is the
    unnormalised sum, a mean with a normal learning rate is its Keras
    equivalent). Monitored: ``val_mean_iou`` (Keras ``MeanIoU``, void dropped);
    logged besides: ``pixel_accuracy`` (``segmentation.SegmentationMetrics``).
    Reported: pixel accuracy, mean accuracy, mean IU and frequency-weighted IU
    from one confusion matrix (Long, Shelhamer & Darrell 2015, §5), per-class IU,
    and example predictions drawn on the validation images.
    """

    num_classes: int = None
    ignore_index: int = VOID
    from_logits: bool = None
    examples: int = 4
    name = "segmentation"
    monitor = ("val_mean_iou", "max")

    def bind(self, model, label_spec=None):
        units, shape = _units(model)
        if len(shape) != 4:
            raise ValueError(f"A segmentation model outputs (batch, H, W, classes) score maps; {model.name!r} outputs {shape}")
        if label_spec is not None and (isinstance(label_spec, dict) or len(label_spec.shape) not in (2, 3)):
            raise ValueError(f"Segmentation targets are (H, W) masks of class ids; got {label_spec}")
        from_logits = self.from_logits if self.from_logits is not None else output_activation(model) != "softmax"
        return dataclasses.replace(self, num_classes=self.num_classes or units, from_logits=bool(from_logits))

    def check(self, model, num_classes):
        units, _ = _units(model)
        if num_classes is not None and units != num_classes:
            raise ValueError(f"The model scores {units} classes per pixel but the data has {num_classes} classes")

    def compile_kwargs(self, model):
        from keras_cv_course.segmentation.metrics import SegmentationMetrics

        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=bool(self.from_logits), ignore_class=self.ignore_index)
        mean_iou = keras.metrics.MeanIoU(num_classes=self.num_classes, sparse_y_pred=False,
                                         ignore_class=self.ignore_index, name="mean_iou")
        pixel_accuracy = SegmentationMetrics(self.num_classes, "pixel_accuracy", ignore_index=self.ignore_index)
        return {"loss": loss, "metrics": [mean_iou, pixel_accuracy]}

    def evaluate(self, model, dataset, class_names=None):
        from keras_cv_course.segmentation import metrics as seg_metrics

        confusion = np.zeros((self.num_classes, self.num_classes), np.int64)
        for images, masks in dataset:
            predicted = keras.ops.convert_to_numpy(model(images, training=False)).argmax(axis=-1)
            confusion += seg_metrics.confusion_matrix(np.asarray(masks), predicted, self.num_classes,
                                                      ignore_index=self.ignore_index)
        return seg_metrics.segmentation_summary(confusion, class_names)

    def examples_of(self, model, dataset):
        """Up to ``examples`` (image, true mask, predicted mask) triples of ``dataset``."""
        found = []
        for images, masks in dataset:
            predicted = keras.ops.convert_to_numpy(model(images, training=False)).argmax(axis=-1)
            found += list(zip(np.asarray(images), np.asarray(masks), predicted))
            if len(found) >= self.examples:
                break
        return found[: self.examples]

    def headline(self, summary):
        return (f"mean IU {summary['mean_iou']:.4f}, pixel accuracy {summary['pixel_accuracy']:.4f}, "
                f"mean accuracy {summary['mean_accuracy']:.4f}, frequency-weighted IU {summary['frequency_weighted_iou']:.4f}")

    def report(self, summary, run_dir, *, model=None, dataset=None):
        from keras_cv_course.training import report as report_lib

        examples = self.examples_of(model, dataset) if model is not None and dataset is not None else []
        return report_lib.segmentation_section(summary, run_dir, examples=examples, num_classes=self.num_classes,
                                               ignore_index=self.ignore_index)

    def get_config(self):
        return {"name": self.name, "num_classes": self.num_classes, "ignore_index": self.ignore_index,
                "from_logits": self.from_logits}


# ----------------------------------------------------------------------------- detection


@dataclasses.dataclass(eq=False, repr=False)
class DetectionTask(Task):
    """Object detection: ``(image, {"boxes", "classes"})`` elements, a detector
    whose outputs are named after its ``head``'s losses (``detection.heads``).

    The head encodes the padded ground truth into the losses' targets in the
    pipeline and decodes the outputs into boxes; ``val_map50`` (VOC2010 AP at
    IoU 0.5 by default, ``protocol="voc2007"`` or ``"coco"``) is measured on the
    un-encoded validation data after every epoch and monitored. ``head`` None
    takes the head a registered detector names (``heads.register_model_head``).
    """

    head: object = None
    num_classes: int = None
    protocol: str = "voc2010"
    examples: int = 4
    name = "detection"
    monitor = ("val_map50", "max")

    def bind(self, model, label_spec=None):
        from keras_cv_course.detection import heads

        head = heads.get_head(self.head) if self.head is not None else heads.head_for_model(model)
        if head is None:
            raise ValueError(f"No detection head is known for {model.name!r}: pass task=DetectionTask(head=...)")
        missing = sorted(set(head.losses()) - set(model.output_names))
        if missing:
            raise ValueError(f"The head's losses {missing} name no output of {model.name!r} "
                             f"(its outputs: {list(model.output_names)})")
        return dataclasses.replace(self, head=head, num_classes=self.num_classes or getattr(head, "num_classes", None))

    def check(self, model, num_classes):
        if num_classes is not None and self.num_classes is not None and num_classes != self.num_classes:
            raise ValueError(f"The detector scores {self.num_classes} object classes but the data has {num_classes}")

    def compile_kwargs(self, model):
        weights = self.head.loss_weights()
        return {"loss": self.head.losses(), **({"loss_weights": weights} if weights else {})}

    def encoder(self, model):
        return self.head.encode

    def _predict(self, model):
        # The batch's own size: a fully convolutional detector's input_shape is (None, None).
        return lambda images: self.head.decode(model(images, training=False), tuple(images.shape[1:3]))

    def _evaluator(self, class_names=None):
        from keras_cv_course.detection.evaluate import DetectionEvaluator

        return DetectionEvaluator(class_names, num_classes=self.num_classes, protocol=self.protocol)

    def callbacks(self, model, dataset):
        from keras_cv_course.detection.evaluate import MeanAveragePrecision

        return [MeanAveragePrecision(dataset, self._evaluator(), predict=self._predict(model))]

    def evaluate(self, model, dataset, class_names=None):
        evaluator, predict = self._evaluator(class_names), self._predict(model)
        for images, targets in dataset:
            evaluator.update(targets, predict(images))
        return evaluator.result()

    def headline(self, summary):
        return f"mAP@0.5 {summary['map50']:.4f} ({summary['protocol']})"

    def report(self, summary, run_dir, *, model=None, dataset=None):
        from keras_cv_course.training import report as report_lib

        examples = self.examples_of(model, dataset) if model is not None and dataset is not None else []
        return report_lib.detection_section(summary, run_dir, examples=examples)

    def examples_of(self, model, dataset):
        """Up to ``examples`` (image, ground truth, detections) triples of ``dataset``."""
        import numpy as np

        predict, found = self._predict(model), []
        for images, targets in dataset:
            detections = {k: np.asarray(v) for k, v in predict(images).items()}
            for index, image in enumerate(np.asarray(images)):
                truth = {k: np.asarray(v)[index] for k, v in targets.items()}
                found.append((image, truth, {k: v[index] for k, v in detections.items()}))
            if len(found) >= self.examples:
                break
        return found[: self.examples]

    def get_config(self):
        from keras_cv_course.detection import heads

        head = heads.head_config(self.head) if self.head is not None and not isinstance(self.head, dict) else self.head
        return {"name": self.name, "head": head, "num_classes": self.num_classes, "protocol": self.protocol}


def resolve_task(task, info, model, label_spec):
    """The bound task of a run: ``task`` when given, else the registry entry's
    task, else inferred from the labels (masks → segmentation)."""
    if task is None:
        if info is not None and getattr(info, "task", "classification") != "classification":
            task = info.task
        elif isinstance(label_spec, dict):
            task = "detection"
        elif label_spec is not None and len(label_spec.shape) >= 2:
            task = "segmentation"
        else:
            task = "classification"
    return get_task(task).bind(model, label_spec)


def unbound_task(task, info):
    """The task named by ``task`` or the registry entry, before a model exists
    (used to build a registered model for the data)."""
    if task is not None:
        return get_task(task)
    return get_task(getattr(info, "task", "classification") if info is not None else "classification")


__all__ = ["Task", "ClassificationTask", "SegmentationTask", "DetectionTask", "get_task", "resolve_task", "unbound_task",
           "output_activation", "predict_dataset", "TASK_NAMES"]
