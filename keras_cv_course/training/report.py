"""The run report: ``report.json`` and ``report.md`` with the figures beside them.

``write_report(run_dir, summary, history, config, task=...)`` writes
- ``report.json``: the run's configuration, the task, its evaluation summary and
  the history rows;
- ``report.md``: the same for a person — the settings, the task's section (for
  classification: top-1 / top-5 accuracy, error rate, balanced error rate, ROC
  AUC for two classes, per-class accuracy, the confusion matrix; for
  multi-label: mean average precision, F1, per-class AP and PR curves; for
  segmentation: pixel accuracy, mean accuracy, mean IU, frequency-weighted IU,
  per-class IU and example predictions), the learning curves and the epochs;
- the figures: ``confusion_matrix.png``, ``learning_curve_{metric}.png``,
  ``roc_curve.png`` (two classes), ``pr_curves.png`` (multi-label),
  ``segmentation_examples.png`` (segmentation).

Every task writes the same layout: the task decides only its own section
(``Task.report``, built from the ``*_section`` functions here).

Figures are drawn by ``keras_cv_course.visualize.plots`` (no pyplot, no global
backend switch), so writing a report never opens a window.
"""

import json
import os

import numpy as np

from keras_cv_course import metrics
from keras_cv_course.training.callbacks import atomic_write_text
from keras_cv_course.visualize import plots

CURVE_METRICS = ("loss", "accuracy", "top5_accuracy", "auc", "mean_iou", "map50")


def _fmt(value, percent=True):
    if value is None:
        return "–"
    return f"{100 * value:.2f}%" if percent else f"{value:.4f}"


def _save_plot(path, draw, size=5.0):
    figure, ax = plots.new_figure(size=size)
    draw(ax)
    plots.save_figure(figure, path, dpi=110)


def _history_dict(history):
    """History rows (dicts per epoch) as ``History.history`` (lists per key)."""
    keys = [k for k in history[0] if k not in ("epoch",)]
    return {k: [row.get(k, float("nan")) for row in history] for k in keys}


def write_report(run_dir, summary, history, config, *, task=None, model=None, dataset=None,
                 y_true=None, y_prob=None, title=None):
    """Write report.json, report.md and the figures into ``run_dir``; returns the
    path of report.md. ``task`` (default: classification) writes its own section;
    ``model``/``dataset`` let it draw example predictions; ``y_true``/``y_prob``
    give a classification report its exact ROC curve."""
    from keras_cv_course.tasks import ClassificationTask

    os.makedirs(run_dir, exist_ok=True)
    task = task or ClassificationTask(kind=summary.get("kind"))
    if y_true is not None and y_prob is not None and "roc_auc" in summary and "roc_curve" not in summary:
        fpr, tpr, thresholds = metrics.roc_curve(y_true, np.asarray(y_prob)[:, -1])
        summary = {**summary, "roc_curve": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thresholds.tolist()}}
    section, figures = task.report(summary, run_dir, model=model, dataset=dataset)
    figures = {**figures, **_learning_curves(run_dir, history)}
    report = {"config": config, "task": task.get_config(), "evaluation": summary, "figures": figures, "history": history}
    # Through a temporary file each: an interrupted write leaves the previous report, never half of one.
    atomic_write_text(os.path.join(run_dir, "report.json"), json.dumps(report, indent=1, default=_json_default))
    path = os.path.join(run_dir, "report.md")
    atomic_write_text(path, markdown_report(report, section, title=title))
    return path


def _learning_curves(run_dir, history):
    figures = {}
    if not history:
        return figures
    curves = _history_dict(history)
    for metric in CURVE_METRICS:
        if metric in curves or f"val_{metric}" in curves:
            figures[f"learning_curve_{metric}"] = f"learning_curve_{metric}.png"
            _save_plot(
                os.path.join(run_dir, figures[f"learning_curve_{metric}"]),
                lambda ax, metric=metric: plots.plot_history(ax, curves, metric, title=f"learning curve: {metric}"),
            )
    return figures


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


SETTINGS = ("model", "task_kind", "dataset", "data_source", "class_names", "train_samples", "eval_split", "epochs",
            "batch_size", "global_batch_size", "optimizer", "learning_rate", "schedule", "augment", "strategy", "replicas",
            "seed", "train_seconds", "resumed", "changed_on_resume", "command")


def markdown_report(report, section, title=None):
    """The person-facing report as Markdown text: settings, the task's
    ``section`` lines, learning curves and the epoch table."""
    config, figures, history = report["config"], report["figures"], report["history"]
    lines = [f"# {title or 'Training report: ' + str(config.get('model', 'model'))}", ""]
    lines += ["| setting | value |", "|---|---|"]
    for key in SETTINGS:
        if config.get(key) is not None:
            value = config[key]
            value = f"{value:.1f}" if key == "train_seconds" else value
            value = ", ".join(map(str, value)) if isinstance(value, list) else value
            lines.append(f"| {key} | `{value}` |" if key == "command" else f"| {key} | {value} |")
    if config.get("best_epoch") is not None:
        lines.append(f"| evaluated model | {config.get('evaluated', 'best')} (epoch {config['best_epoch'] + 1}) |")
    lines += [""] + list(section)
    if history:
        lines += _history_lines(history, figures, report["task"])
    return "\n".join(lines)


def _history_lines(history, figures, task_config):
    lines = ["## Learning curves", ""]
    for metric in CURVE_METRICS:
        key = f"learning_curve_{metric}"
        if key in figures:
            lines.append(f"![{key.replace('_', ' ')}]({figures[key]})")
    metric = {"segmentation": "mean_iou", "detection": "map50"}.get(task_config.get("name"), "accuracy")
    if task_config.get("kind") == "multilabel":
        metric = "auc"
    columns = ["loss", metric, "val_loss", f"val_{metric}"]
    lines += ["", "| epoch | " + " | ".join(columns) + " | lr | train s |", "|---" * (len(columns) + 3) + "|"]
    for row in history:
        cells = [str(row["epoch"] + 1)] + [f"{row[key]:.4f}" if key in row else "–" for key in columns]
        cells.append(f"{row['lr']:.2e}" if "lr" in row else "–")
        cells.append(f"{row['train_seconds']:.1f}" if "train_seconds" in row else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def _confusion_figure(run_dir, matrix, class_names, *, normalize=False):
    name = "confusion_matrix.png"
    _save_plot(os.path.join(run_dir, name),
               lambda ax: plots.plot_confusion_matrix(ax, matrix, class_names, normalize=normalize,
                                                      annotate=len(class_names) <= 20),
               size=max(4.0, 0.55 * len(class_names) + 2.0))
    return name


def _matrix_table(names, matrix):
    if len(names) > 20:
        return []
    lines = ["| true \\ predicted | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for name, row in zip(names, matrix):
        lines.append(f"| **{name}** | " + " | ".join(str(v) for v in row) + " |")
    return lines + [""]


def classification_section(summary, run_dir):
    """Markdown lines and figures of a (multi-class or binary) classification summary."""
    figures = {"confusion_matrix": _confusion_figure(run_dir, summary["confusion_matrix"], summary["class_names"])}
    lines = [f"## Results on {summary['samples']:,} evaluation images", "", "| metric | value |", "|---|---|"]
    lines.append(f"| top-1 accuracy | {_fmt(summary['top1_accuracy'])} |")
    lines.append(f"| top-5 accuracy | {_fmt(summary['top5_accuracy'])} |")
    lines.append(f"| error rate (top-1) | {_fmt(summary['error_rate'])} |")
    if summary.get("top5_error") is not None:
        lines.append(f"| top-5 error | {_fmt(summary['top5_error'])} |")
    lines.append(f"| balanced error rate | {_fmt(summary['balanced_error_rate'])} |")
    if "roc_auc" in summary:
        lines.append(f"| ROC AUC | {summary['roc_auc']:.4f} |")
    lines += ["", "## Per-class accuracy", "", "| class | accuracy |", "|---|---|"]
    per_class = summary["per_class_accuracy"]
    for name, value in sorted(per_class.items(), key=lambda item: (item[1] is None, item[1] or 0.0)):
        lines.append(f"| {name} | {_fmt(value)} |")
    lines += ["", "## Confusion matrix", "", f"![confusion matrix]({figures['confusion_matrix']})", ""]
    lines += _matrix_table(summary["class_names"], summary["confusion_matrix"])
    if "roc_curve" in summary:
        curve = summary["roc_curve"]
        figures["roc_curve"] = "roc_curve.png"
        _save_plot(os.path.join(run_dir, figures["roc_curve"]),
                   lambda ax: plots.plot_roc(ax, curve["fpr"], curve["tpr"], summary["roc_auc"]))
        lines += ["## ROC curve", "", f"![ROC curve]({figures['roc_curve']})", "",
                  "A low threshold catches more positives at more false alarms (screening); "
                  "a high one keeps only confident positives (retrieval).", ""]
    return lines, figures


def multilabel_section(summary, run_dir):
    """Markdown lines and figures of a multi-label summary (``metrics.multilabel_summary``)."""
    lines = [f"## Results on {summary['samples']:,} evaluation images ({summary['classes']} labels, "
             f"threshold {summary['threshold']:g})", "", "| metric | value |", "|---|---|"]
    for key, label in (("mean_average_precision", "mean average precision"), ("micro_f1", "micro F1"),
                       ("macro_f1", "macro F1"), ("subset_accuracy", "subset accuracy (exact match)"),
                       ("label_accuracy", "label accuracy"), ("hamming_loss", "Hamming loss")):
        lines.append(f"| {label} | {_fmt(summary[key], percent=False)} |")
    lines += ["", "## Per-label results", "", "| label | AP | precision | recall | F1 | support |", "|---|---|---|---|---|---|"]
    for name, row in summary["per_class"].items():
        cells = [_fmt(row.get(key), percent=False) for key in ("average_precision", "precision", "recall", "f1")]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {row.get('support', '–')} |")
    figures = {}
    curves = summary.get("pr_curves") or {}
    if curves:
        figures["pr_curves"] = "pr_curves.png"

        def draw(ax):
            for name, curve in curves.items():
                ap = summary["per_class"].get(name, {}).get("average_precision")
                plots.plot_precision_recall(ax, curve["precision"], curve["recall"], ap=ap, label=name)

        _save_plot(os.path.join(run_dir, figures["pr_curves"]), draw, size=6.0)
        lines += ["", "## Precision-recall curves", "", f"![precision-recall curves]({figures['pr_curves']})"]
    return lines + [""], figures


def segmentation_section(summary, run_dir, *, examples=(), num_classes=None, ignore_index=255):
    """Markdown lines and figures of a segmentation summary
    (``segmentation.metrics.segmentation_summary``) and example predictions."""
    lines = [f"## Results on {summary['pixels']:,} labelled pixels", "", "| metric | value |", "|---|---|"]
    for key, label in (("pixel_accuracy", "pixel accuracy"), ("mean_accuracy", "mean accuracy"),
                       ("mean_iou", "mean IU"), ("frequency_weighted_iou", "frequency-weighted IU")):
        lines.append(f"| {label} | {_fmt(summary[key])} |")
    lines += ["", "## Per-class IU", "", "| class | IU | accuracy |", "|---|---|---|"]
    for name, value in summary["per_class_iou"].items():
        lines.append(f"| {name} | {_fmt(value)} | {_fmt(summary['per_class_accuracy'].get(name))} |")
    figures = {"confusion_matrix": _confusion_figure(run_dir, summary["confusion_matrix"], summary["class_names"],
                                                     normalize=True)}
    lines += ["", "## Confusion matrix (pixels, rows normalised)", "", f"![confusion matrix]({figures['confusion_matrix']})", ""]
    if examples:
        figures["segmentation_examples"] = "segmentation_examples.png"
        images, truths, predictions = zip(*examples)
        figure, axes = plots.new_figure(len(examples), 3, size=2.2, squeeze=False)
        plots.plot_segmentation_examples(axes, images, truths, predictions, num_classes or len(summary["class_names"]),
                                         ignore_index=ignore_index, class_names=summary["class_names"])
        plots.save_figure(figure, os.path.join(run_dir, figures["segmentation_examples"]), dpi=110)
        lines += ["## Example predictions", "", "image, true mask, predicted mask:", "",
                  f"![segmentation examples]({figures['segmentation_examples']})", ""]
    return lines, figures


def detection_section(summary, run_dir, *, examples=()):
    """Markdown lines and figures of a detection summary (``detection.evaluate``):
    mAP, per-class AP, precision-recall curves and example detections."""
    from keras_cv_course.detection.evaluate import SCALAR_KEYS, plot_precision_recall

    lines = [f"## Results on {summary['num_images']:,} evaluation images ({summary['protocol']})", "",
             "| metric | value |", "|---|---|"]
    for key in SCALAR_KEYS:
        if summary.get(key) is not None:
            lines.append(f"| {key} | {_fmt(summary[key], percent=False)} |")
    ap_key = "per_class_ap" if summary["protocol"] != "coco" else "per_class_ap50"
    lines += ["", "## Per-class AP at IoU 0.5", "", "| class | AP |", "|---|---|"]
    lines += [f"| {name} | {_fmt(value, percent=False)} |" for name, value in summary[ap_key].items()]
    figures = {"pr_curves": "pr_curves.png"}
    _save_plot(os.path.join(run_dir, figures["pr_curves"]), lambda ax: plot_precision_recall(ax, summary), size=6.0)
    lines += ["", "## Precision-recall curves", "", f"![precision-recall curves]({figures['pr_curves']})", ""]
    if examples:
        figures["detection_examples"] = "detection_examples.png"
        figure, axes = plots.new_figure(1, len(examples), size=3.0, squeeze=False)
        names = summary.get("class_names")
        for ax, (image, _, found) in zip(axes[0], examples):
            plots.plot_boxes(ax, image, found["boxes"], found["classes"], found["scores"], names, score_threshold=0.3)
        plots.save_figure(figure, os.path.join(run_dir, figures["detection_examples"]), dpi=110)
        lines += ["## Example detections (score >= 0.3)", "", f"![detections]({figures['detection_examples']})", ""]
    return lines, figures
