# %% [markdown]
# # 13 — ImageNet: the challenge's history and the first layer ZFNet changed
#
# The lecture on ImageNet (Giró-i-Nieto) tells the ILSVRC classification story
# through its winners' top-5 error, and shows how ZFNet (Zeiler & Fergus 2014)
# improved on AlexNet by looking at its first layer. This walkthrough
#
# 1. plots the winners' top-5 error by year (facts from the challenge's results
#    and Russakovsky et al., "ImageNet Large Scale Visual Recognition Challenge",
#    IJCV 2015, which also gives the human 5.1%);
# 2. compares the first layers of the registered `alexnet` and `zfnet`: kernel,
#    stride, output map and parameters. ZFNet's 7x7 stride-2 filters replace
#    AlexNet's 11x11 stride-4 ones. Its map is 110x110 instead of 55x55, so a
#    filter is placed every 2 pixels instead of every 4.
#
# `python tutorials/13_imagenet.py --out runs/13` writes the plot (`--fast` is
# the same).

# %%
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_cv_course import models  # noqa: E402

# ILSVRC classification winners, top-5 error in % (the entry without outside training data where both were given).
ILSVRC_WINNERS = [
    (2010, "NEC-UIUC", 28.2),
    (2011, "XRCE", 25.8),
    (2012, "AlexNet (SuperVision)", 16.4),
    (2013, "ZFNet (Clarifai)", 11.7),
    (2014, "GoogLeNet", 6.7),
    (2015, "ResNet (MSRA)", 3.57),
    (2016, "Trimps-Soushen", 2.99),
    (2017, "SENet", 2.25),
]
HUMAN_TOP5 = 5.1  # Russakovsky et al. 2015, §6.4 (one trained annotator)


def first_layer(name):
    """The first convolution of the registered model ``name`` at 224x224:
    kernel, stride, filters, output size and parameters."""
    model = models.get_model(name, input_shape=(224, 224, 3))
    conv = model.get_layer("conv1")
    return {"kernel": conv.kernel_size[0], "stride": conv.strides[0], "filters": conv.filters,
            "output": int(conv.output.shape[1]), "params": conv.count_params()}


def largest_drop(winners=ILSVRC_WINNERS):
    """The year whose winner cut the previous year's error by the most points."""
    drops = [(before - error, year) for (_, _, before), (year, _, error) in zip(winners, winners[1:])]
    return max(drops)[1]


def _history_figure(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    years = [year for year, _, _ in ILSVRC_WINNERS]
    errors = [error for _, _, error in ILSVRC_WINNERS]
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    ax.bar(years, errors, color=["C7" if year < 2012 else "C0" for year in years])
    for year, team, error in ILSVRC_WINNERS:
        ax.annotate(f"{error:g}%\n{team.split(' (')[0]}", (year, error), ha="center", va="bottom", fontsize=7)
    ax.axhline(HUMAN_TOP5, color="C3", linestyle="--", label=f"human ({HUMAN_TOP5}%)")
    ax.set(xlabel="ILSVRC year", ylabel="top-5 error (%)", title="ImageNet classification winners", ylim=(0, 33))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(fast=False, out="runs/13_imagenet"):
    """Print the history and the two first layers; write the plot; return the figures."""
    os.makedirs(out, exist_ok=True)
    print("1. ILSVRC classification winners, top-5 error")
    for year, team, error in ILSVRC_WINNERS:
        print(f"   {year}  {error:>5.2f}%  {team}{'   (below human)' if error < HUMAN_TOP5 else ''}")
    below_human = next(year for year, _, error in ILSVRC_WINNERS if error < HUMAN_TOP5)
    print(f"   largest cut in points: {largest_drop()} (AlexNet, 25.8% -> 16.4%); first winner below the human {HUMAN_TOP5}%: {below_human}")
    layers = {name: first_layer(name) for name in ("alexnet", "zfnet")}
    print("2. first layer   kernel  stride  filters  map at 224   parameters")
    for name, row in layers.items():
        print(f"   {name:<14} {row['kernel']:>2}x{row['kernel']:<3} {row['stride']:>5}  {row['filters']:>7}   "
              f"{row['output']:>3}x{row['output']:<6} {row['params']:>10,}")
    figure = _history_figure(os.path.join(out, "ilsvrc_top5_error.png"))
    print(f"wrote {figure}")
    return {"largest_drop": largest_drop(), "below_human": below_human, "first_layers": layers, "files": [figure]}


# %%
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="ImageNet: the challenge's history and ZFNet's first layer")
    parser.add_argument("--fast", action="store_true", help="the same as the full run")
    parser.add_argument("--out", default="runs/13_imagenet", help="folder for the plot")
    args, _ = parser.parse_known_args(sys.argv[1:])
    main(fast=args.fast, out=args.out)
