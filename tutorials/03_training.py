# %% [markdown]
# # 03 — Training, fine-tuning and distribution
#
# `keras_cv_course.training.fit` trains any registered model on a dataset and
# leaves a run directory a person wants to read. This walkthrough
#
# 1. trains LeNet-5 on Fashion-MNIST with a one-cycle learning-rate schedule
#    (`kcc train` does the same from the shell) and reads its report;
# 2. kills nothing, but shows what makes a run resumable (`state.json`) and
#    resumes it for one more epoch;
# 3. fine-tunes the trained network the course's way: freeze everything before a
#    layer (`surgery.freeze(model, until=...)`), recompile, train the rest with a
#    small learning rate — and builds the course's VGG16 transfer model
#    (16,812,353 parameters at 150×150);
# 4. picks a `tf.distribute` strategy and shows the global-batch arithmetic;
# 5. loads the project's trained weights (`weights="fashion_mnist"`);
# 6. sets fashion_cnn's data-initialized stem (patch whitening) and draws its
#    filters.
#
# `--fast` trains on the embedded 2,000-image sample for one epoch per step
# (about a minute on two CPU cores); without it the full Fashion-MNIST is used
# when present.
#
#     python tutorials/03_training.py [--fast] [--out runs/03_training]

# %%
import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_cv_course import surgery, training  # noqa: E402
from keras_cv_course.models import get_model, model_info  # noqa: E402
from keras_cv_course.training.cli import default_dataset  # noqa: E402

parser = argparse.ArgumentParser(description="Training, fine-tuning and distribution")
parser.add_argument("--fast", action="store_true", help="embedded sample, one epoch per step")
parser.add_argument("--out", default="runs/03_training")
ARGS, _ = parser.parse_known_args(sys.argv[1:] if __name__ == "__main__" else [])
DATASET = "fashion_mnist_sample" if ARGS.fast else default_dataset()
EPOCHS = 1 if ARGS.fast else 10
os.makedirs(ARGS.out, exist_ok=True)
print(f"dataset: {DATASET}")

# %% [markdown]
# ## 1. Train and read the report
#
# `batch_size` is per replica; the schedule peaks at `learning_rate` after a
# quarter of the run. The run directory gets `best.keras`, `last.keras`,
# `history.csv`, TensorBoard logs and `report.md`/`report.json` with top-1 and
# top-5 accuracy, error rate, balanced error rate, per-class accuracy and the
# figures.

# %%
run_dir = os.path.join(ARGS.out, "lenet5")
result = training.fit("lenet5", DATASET, epochs=EPOCHS, batch_size=128, learning_rate=3e-3, schedule="onecycle",
                      run_dir=run_dir, resume=True, seed=0)
summary = result.summary
print(f"top-1 {summary['top1_accuracy']:.4f}  top-5 {summary['top5_accuracy']:.4f}  "
      f"balanced error {summary['balanced_error_rate']:.4f}")
worst = min(summary["per_class_accuracy"].items(), key=lambda item: item[1])
print(f"hardest class: {worst[0]} ({worst[1]:.2%}) — shirts look like T-shirts, pullovers and coats")
print("run directory:", sorted(os.listdir(run_dir)))

# %% [markdown]
# ## 2. Resuming
#
# After every epoch the run commits `state.json` (the last completed epoch, its
# checkpoint with the optimizer state, and the history). A run killed at any
# moment — `kill -9` included — continues with `resume=True` (`kcc train ...
# --resume`) after its last completed epoch; `tests/training/test_resume_sigkill.py`
# does exactly that. Here we simply ask for one epoch more.

# %%
state = json.load(open(os.path.join(run_dir, "state.json")))
print(f"state.json: last completed epoch {state['epoch']}, checkpoint {state['checkpoint']}")
more = training.fit("lenet5", DATASET, epochs=EPOCHS + 1, run_dir=run_dir, resume=True, seed=0, verbose=0)
print("epochs in history:", [row["epoch"] for row in more.history])

# %% [markdown]
# ## 3. Fine-tuning the course's way
#
# Freeze the layers before `until`, recompile, train with a small learning rate.
# `fit(finetune_from=run_dir, freeze_until=...)` does all of it; frozen
# BatchNormalization layers stay in inference mode (Keras 3 semantics).

# %%
tuned = training.fit("lenet5", DATASET, epochs=1, learning_rate=1e-4, schedule="constant",
                     finetune_from=run_dir, freeze_until="fc1", run_dir=os.path.join(ARGS.out, "lenet5_finetuned"),
                     resume=True, seed=0, verbose=0)
trainable = [layer.name for layer in tuned.model.layers if layer.trainable and layer.weights]
print("trained while fine-tuning:", trainable)
print(f"fine-tuned top-1 {tuned.summary['top1_accuracy']:.4f}")

conv_base = get_model("vgg16", include_top=False, input_shape=(150, 150, 3))  # weights="imagenet" in the course
print(f"VGG16 conv_base at 150x150x3: {conv_base.count_params():,} parameters, output {conv_base.output.shape[1:]}")
transfer = surgery.transfer_classifier(conv_base, hidden=256, classes=1)
surgery.freeze(conv_base, until="block5_conv1")
trainable, frozen = surgery.trainable_summary(transfer)
print(f"VGG16 transfer model: {transfer.count_params():,} parameters; "
      f"from block5_conv1 on {trainable:,} trainable, {frozen:,} frozen")

# %% [markdown]
# ## 4. Distribution
#
# `get_strategy("auto")` picks a TPU when one is reachable, MultiWorkerMirrored
# when `TF_CONFIG` names several workers, Mirrored for several GPUs, else the
# default strategy. Models are built and compiled inside `strategy.scope()`; the
# global batch is the per-replica batch × replicas. With two GPUs,
# `kcc train fashion_vgg --strategy mirrored --batch-size 128` trains on a global
# batch of 256. On a CPU you can try MirroredStrategy by splitting the CPU into
# logical devices before TensorFlow starts (see tests/training/dist_script.py).

# %%
strategy = training.get_strategy("auto")
print(f"auto strategy here: {type(strategy).__name__}, {strategy.num_replicas_in_sync} replica(s); "
      f"global batch for 128 per replica: {training.global_batch_size(128, strategy)}")

# %% [markdown]
# ## 5. The project's trained weights
#
# weights/manifest.json lists weights this project trained on the full
# Fashion-MNIST, with their sha256, test accuracy and the command that made them.

# %%
available = model_info("lenet5").weights
if "fashion_mnist" in available:
    from keras_cv_course.models.trained_weights import manifest_entry

    entry = manifest_entry("lenet5", "fashion_mnist")
    pretrained = get_model("lenet5", weights="fashion_mnist")
    print(f"lenet5 weights: test accuracy {entry['test_accuracy']:.4f}, made by: {entry['command']}")
else:
    print("no trained lenet5 weights in this installation (weights/ is in the repository checkout)")

# %% [markdown]
# ## 6. A stem set from data: fashion_cnn's patch whitening
#
# `fashion_cnn` starts with `blocks.PatchWhitening`, a frozen 3×3 convolution
# whose filters are the eigenvectors of the training images' patch second-moment
# matrix, each divided by the square root of its eigenvalue, then negated as
# well, so the ReLU after it keeps both signs (the first layer of Keller
# Jordan's airbench). Nothing flows back through it, and the next layer sees
# decorrelated inputs of unit variance: that is how this net reaches 92% on
# Fashion-MNIST in about 45 s on two CPU cores. `training.fit` sets it from the
# first 5,000 training images; outside `fit`, `blocks.adapt_model` does.

# %%
import numpy as np  # noqa: E402

from keras_cv_course import data  # noqa: E402
from keras_cv_course.blocks import adapt_model  # noqa: E402

images = data.load_arrays(DATASET, "train")[0][:5000].reshape(-1, 28, 28, 1).astype("float32") / 255.0
fast_net = get_model("fashion_cnn")
print("adapted:", adapt_model(fast_net, images))
stem = fast_net.get_layer("stem_whiten")
whitened = np.asarray(stem(images[:500]))[:, 1:-1, 1:-1, :9].reshape(-1, 9)
second_moments = (whitened**2).mean(axis=0)
print("second moment of the 9 whitened channels: " + " ".join(f"{m:.2f}" for m in second_moments))


from keras_cv_course.visualize import filters, plots  # noqa: E402

figure, axis = plots.new_figure(size=2.0, figsize=(11, 1.8))
tiles = filters(fast_net, "stem_whiten", normalize="signed")[:9]  # the 9 positive filters, largest eigenvalue first
plots.plot_filters(axis, tiles, cols=9, cmap="RdBu_r",
                   title="fashion_cnn's whitening filters (eigenvectors of 3x3 patches, largest first; red +, blue -)")
print("filters drawn:", plots.save_figure(figure, os.path.join(ARGS.out, "whitening_filters.png")))
