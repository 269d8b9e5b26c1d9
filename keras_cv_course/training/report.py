"""The run report: ``report.json`` and ``report.md`` with the figures beside them.

``write_report(run_dir, summary, history, config)`` writes
- ``report.json``: the run's configuration, the evaluation summary of
  ``keras_cv_course.metrics.classification_summary`` and the history rows;
- ``report.md``: the same for a person — a headline table (top-1 / top-5 accuracy,
  error rate, balanced error rate, ROC AUC for two classes), per-class accuracy,
  the confusion matrix and links to the figures;
- ``confusion_matrix.png``, ``learning_curve_loss.png``,
  ``learning_curve_accuracy.png`` and, for two classes, ``roc_curve.png``.

Figures are drawn by ``keras_cv_course.visualize.plots`` (no pyplot, no global
backend switch), so writing a report never opens a window.
"""

import json
import os

import numpy as np

from keras_cv_course import metrics
from keras_cv_course.visualize import plots


def predict_dataset(model, dataset):
    """``(y_true, y_prob)`` numpy arrays over a batched ``(images, labels)`` dataset."""
    labels, scores = [], []
    for images, batch_labels in dataset:
        scores.append(np.asarray(model(images, training=False)))
        labels.append(np.asarray(batch_labels))
    if not labels:
        raise ValueError("the evaluation dataset is empty")
    y_prob = np.concatenate(scores).astype(np.float64)
    y_true = np.concatenate(labels)
    if y_true.ndim == 2 and y_true.shape[1] > 1:
        y_true = y_true.argmax(axis=1)
    return y_true.reshape(-1).astype(np.int64), y_prob


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


def write_report(run_dir, summary, history, config, *, y_true=None, y_prob=None, title=None):
    """Write report.json, report.md and the figures into ``run_dir``; returns the
    path of report.md. ``y_true``/``y_prob`` are needed for the ROC figure only."""
    os.makedirs(run_dir, exist_ok=True)
    figures = {"confusion_matrix": "confusion_matrix.png"}
    classes = len(summary["class_names"])
    _save_plot(
        os.path.join(run_dir, figures["confusion_matrix"]),
        lambda ax: plots.plot_confusion_matrix(ax, summary["confusion_matrix"], summary["class_names"]),
        size=max(4.0, 0.55 * classes + 2.0),
    )
    if history:
        curves = _history_dict(history)
        for metric in ("loss", "accuracy"):
            if metric in curves:
                figures[f"learning_curve_{metric}"] = f"learning_curve_{metric}.png"
                _save_plot(
                    os.path.join(run_dir, figures[f"learning_curve_{metric}"]),
                    lambda ax, metric=metric: plots.plot_history(ax, curves, metric, title=f"learning curve: {metric}"),
                )
    if "roc_auc" in summary and y_true is not None and y_prob is not None:
        fpr, tpr, _ = metrics.roc_curve(y_true, np.asarray(y_prob)[:, -1])
        figures["roc_curve"] = "roc_curve.png"
        _save_plot(os.path.join(run_dir, figures["roc_curve"]), lambda ax: plots.plot_roc(ax, fpr, tpr, summary["roc_auc"]))
    report = {"config": config, "evaluation": summary, "figures": figures, "history": history}
    with open(os.path.join(run_dir, "report.json"), "w") as handle:
        json.dump(report, handle, indent=1, default=_json_default)
    path = os.path.join(run_dir, "report.md")
    with open(path, "w") as handle:
        handle.write(markdown_report(report, title=title))
    return path


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return str(value)


def markdown_report(report, title=None):
    """The person-facing report as Markdown text."""
    config, summary, figures, history = report["config"], report["evaluation"], report["figures"], report["history"]
    lines = [f"# {title or 'Training report: ' + str(config.get('model', 'model'))}", ""]
    lines += ["| setting | value |", "|---|---|"]
    for key in ("model", "dataset", "data_source", "train_samples", "eval_split", "epochs", "batch_size", "global_batch_size",
                "optimizer", "learning_rate", "schedule", "augment", "strategy", "replicas", "seed", "train_seconds", "command"):
        if key in config and config[key] is not None:
            value = config[key]
            value = f"{value:.1f}" if key == "train_seconds" else value
            lines.append(f"| {key} | `{value}` |" if key == "command" else f"| {key} | {value} |")
    lines += ["", f"## Results on {summary['samples']:,} {config.get('eval_split', 'evaluation')} images", ""]
    lines += ["| metric | value |", "|---|---|"]
    lines.append(f"| top-1 accuracy | {_fmt(summary['top1_accuracy'])} |")
    lines.append(f"| top-5 accuracy | {_fmt(summary['top5_accuracy'])} |")
    lines.append(f"| error rate (top-1) | {_fmt(summary['error_rate'])} |")
    if summary.get("top5_error") is not None:
        lines.append(f"| top-5 error | {_fmt(summary['top5_error'])} |")
    lines.append(f"| balanced error rate | {_fmt(summary['balanced_error_rate'])} |")
    if "roc_auc" in summary:
        lines.append(f"| ROC AUC | {summary['roc_auc']:.4f} |")
    if config.get("best_epoch") is not None:
        lines.append(f"| evaluated model | {config.get('evaluated', 'best')} (epoch {config['best_epoch'] + 1}) |")
    lines += ["", "## Per-class accuracy", "", "| class | accuracy |", "|---|---|"]
    per_class = summary["per_class_accuracy"]
    for name, value in sorted(per_class.items(), key=lambda item: (item[1] is None, item[1] or 0.0)):
        lines.append(f"| {name} | {_fmt(value)} |")
    lines += ["", "## Confusion matrix", "", f"![confusion matrix]({figures['confusion_matrix']})", ""]
    names = summary["class_names"]
    if len(names) <= 20:
        lines.append("| true \\ predicted | " + " | ".join(names) + " |")
        lines.append("|---" * (len(names) + 1) + "|")
        for name, row in zip(names, summary["confusion_matrix"]):
            lines.append(f"| **{name}** | " + " | ".join(str(v) for v in row) + " |")
        lines.append("")
    if history:
        lines += ["## Learning curves", ""]
        for key in ("learning_curve_loss", "learning_curve_accuracy"):
            if key in figures:
                lines.append(f"![{key.replace('_', ' ')}]({figures[key]})")
        lines += ["", "| epoch | loss | accuracy | val_loss | val_accuracy | lr | train s |", "|---|---|---|---|---|---|---|"]
        for row in history:
            cells = [str(row["epoch"] + 1)]
            for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
                cells.append(f"{row[key]:.4f}" if key in row else "–")
            cells.append(f"{row['lr']:.2e}" if "lr" in row else "–")
            cells.append(f"{row['train_seconds']:.1f}" if "train_seconds" in row else "–")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if "roc_curve" in figures:
        lines += ["## ROC curve", "", f"![ROC curve]({figures['roc_curve']})", ""]
    return "\n".join(lines)
