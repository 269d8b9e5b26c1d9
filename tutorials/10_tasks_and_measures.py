# %% [markdown]
# # 10 — Tasks and performance measures (EE-559 7.1)
#
# The lecture defines how each computer-vision task is scored. This walkthrough
# computes each measure with the package on real data or on a case worked by
# hand:
#
# 1. a two-class problem from real Fashion-MNIST test images (shirt against
#    T-shirt/top, scored by the shipped `fashion_cnn`): error rate, balanced
#    error rate, the ROC curve and its AUC;
# 2. the threshold trade-off the lecture describes: a low threshold misses few
#    positives (cancer screening: high true-positive rate), a high one returns
#    few false positives (retrieval: high precision);
# 3. why the balanced error rate: on 90/10 data, always answering the majority
#    class has error 0.1 but balanced error 0.5;
# 4. detection: a box is correct when its IoU with the truth is >= 1/2;
# 5. segmentation: PASCAL VOC's accuracy SA = n / (n + e) per class.
#
# `python tutorials/10_tasks_and_measures.py --out runs/10` uses the 10,000
# test images (2,000 of the two classes) and writes the ROC curve; `--fast` the
# 1,000-image sample shipped with the package.

# %%
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_cv_course import data, detection, metrics, models, segmentation  # noqa: E402
from keras_cv_course.visualize import plots  # noqa: E402

POSITIVE, NEGATIVE = "Shirt", "T-shirt/top"
THRESHOLDS = (0.1, 0.5, 0.9)


def two_class_scores(fast):
    """``(labels, scores)``: 1 for a shirt, 0 for a T-shirt/top, and the trained
    ``fashion_cnn``'s probability of shirt given one of the two."""
    dataset = "fashion_mnist_sample" if fast else "fashion_mnist"
    names = data.info(dataset).class_names
    images, labels = data.load_arrays(dataset, "test")
    positive, negative = names.index(POSITIVE), names.index(NEGATIVE)
    keep = np.isin(labels, (positive, negative))
    model = models.get_model("fashion_cnn", weights="fashion_mnist")
    x = images[keep].reshape(-1, 28, 28, 1).astype("float32") / 255.0  # the model's "unit" preprocessing
    probabilities = model.predict(x, batch_size=500, verbose=0)
    pair = probabilities[:, positive] + probabilities[:, negative]
    return (labels[keep] == positive).astype(int), probabilities[:, positive] / pair


def at_threshold(labels, scores, threshold):
    """Error rate, balanced error rate, true-positive rate, false-positive rate
    and precision of deciding "positive" when ``score >= threshold``."""
    decided = (scores >= threshold).astype(int)
    true_pos = int(np.sum((decided == 1) & (labels == 1)))
    false_pos = int(np.sum((decided == 1) & (labels == 0)))
    return {"error_rate": float(np.mean(decided != labels)),
            "balanced_error_rate": metrics.balanced_error_rate(labels, decided, num_classes=2),
            "tpr": true_pos / int(np.sum(labels == 1)), "fpr": false_pos / int(np.sum(labels == 0)),
            "precision": true_pos / max(true_pos + false_pos, 1)}


def majority_vote_rates(positives=10, negatives=90):
    """Error and balanced error of always answering "negative" on imbalanced data."""
    labels = np.r_[np.ones(positives, int), np.zeros(negatives, int)]
    decided = np.zeros_like(labels)
    return {"error_rate": float(np.mean(decided != labels)),
            "balanced_error_rate": metrics.balanced_error_rate(labels, decided, num_classes=2)}


# Hand-worked boxes (xyxy): the truth is 10x10; a shift by 2 keeps 80 of a 120 union, by 5 keeps 50 of 150.
TRUTH_BOX = [0.0, 0.0, 10.0, 10.0]
CANDIDATE_BOXES = {"shifted by 2": [2.0, 0.0, 12.0, 10.0], "shifted by 5": [5.0, 0.0, 15.0, 10.0]}


def box_verdicts():
    """``{name: (IoU, correct)}``: correct when IoU >= 1/2 (the VOC criterion)."""
    found = keras.ops.convert_to_numpy(detection.iou(np.array(list(CANDIDATE_BOXES.values())), np.array([TRUTH_BOX])))
    return {name: (float(value), bool(value >= 0.5)) for name, value in zip(CANDIDATE_BOXES, found[:, 0])}


def segmentation_accuracy():
    """VOC's SA per class on a 4x4 mask worked by hand: class 1 has n = 3 true
    positives and e = 2 errors (one missed pixel, one false alarm): SA = 3/5."""
    truth = np.array([[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]])
    predicted = np.array([[0, 0, 0, 0], [0, 1, 1, 1], [0, 1, 0, 0], [0, 0, 0, 0]])
    summary = segmentation.segmentation_summary(segmentation.confusion_matrix(truth, predicted, 2), ["background", "item"])
    return summary["per_class_sa"]


def _roc_figure(fpr, tpr, area, operating_points):
    fig, ax = plots.new_figure(figsize=(4.6, 4.2))
    ax.plot(fpr, tpr, label=f"fashion_cnn (AUC {area:.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    for threshold, row in operating_points.items():
        ax.scatter(row["fpr"], row["tpr"], zorder=3)
        ax.annotate(f"t = {threshold}", (row["fpr"], row["tpr"]), textcoords="offset points", xytext=(6, -10))
    ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title=f"{POSITIVE} vs {NEGATIVE}")
    ax.legend(loc="lower right")
    return fig


def main(fast=False, out="runs/10_tasks_and_measures"):
    """Print each measure of the lecture, computed here; return them (for the test)."""
    labels, scores = two_class_scores(fast)
    print(f"1. {POSITIVE} (positive) vs {NEGATIVE}: {int(labels.sum())} + {int((1 - labels).sum())} test images")
    operating_points = {t: at_threshold(labels, scores, t) for t in THRESHOLDS}
    fpr, tpr, _ = metrics.roc_curve(labels, scores)
    area = metrics.roc_auc(labels, scores)
    print(f"   ROC AUC {area:.4f}")
    print("2. threshold   error   balanced error   TPR     FPR     precision")
    for threshold, row in operating_points.items():
        print(f"   {threshold:<11} {row['error_rate']:.4f}  {row['balanced_error_rate']:.4f}           "
              f"{row['tpr']:.4f}  {row['fpr']:.4f}  {row['precision']:.4f}")
    print("   low threshold: few shirts missed (screening); high threshold: few false alarms (retrieval)")
    majority = majority_vote_rates()
    print(f"3. always 'negative' on 10 positives + 90 negatives: error {majority['error_rate']:.2f}, "
          f"balanced error {majority['balanced_error_rate']:.2f}")
    boxes = box_verdicts()
    print("4. boxes against the 10x10 truth box (correct when IoU >= 1/2):")
    for name, (value, correct) in boxes.items():
        print(f"   {name}: IoU {value:.4f} -> {'correct' if correct else 'wrong'}")
    sa = segmentation_accuracy()
    print(f"5. VOC segmentation accuracy SA = n / (n + e): item {sa['item']:.4f} (3 / 5), "
          f"background {sa['background']:.4f} (11 / 13)")
    writer = plots.FigureWriter(out)
    writer.save(_roc_figure(fpr, tpr, area, operating_points), "roc_curve.png")
    return {"labels": labels, "scores": scores, "auc": area, "operating_points": operating_points,
            "majority": majority, "boxes": boxes, "sa": sa, "files": writer.files}


# %%
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Tasks and performance measures (EE-559 7.1)")
    parser.add_argument("--fast", action="store_true", help="the 1,000-image sample instead of the test set")
    parser.add_argument("--out", default="runs/10_tasks_and_measures", help="folder for the ROC curve")
    args, _ = parser.parse_known_args(sys.argv[1:])
    main(fast=args.fast, out=args.out)
