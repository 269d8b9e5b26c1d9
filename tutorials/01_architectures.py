# %% [markdown]
# # 01 — The architectures of the course, by the numbers
#
# From LeNet-5 to EfficientNet, every classifier of the course is registered in
# `keras_cv_course.models`. This walkthrough
#
# 1. lists the registered families and tabulates parameters and FLOPs,
# 2. redoes the parameter arithmetic that made ResNet's *bottleneck* block possible,
# 3. checks GoogLeNet's claim of ~12× fewer parameters than AlexNet,
# 4. looks at where the multiply-adds of a depthwise-separable network go,
# 5. draws parameters against FLOPs.
#
# Run it as a script (`python tutorials/01_architectures.py --out runs/01`) or cell
# by cell (the `# %%` markers) in an editor that understands them. `--fast`
# counts FLOPs for a handful of small models only and takes the other parameter
# counts from the registry (`ModelInfo.params`) instead of building them.
#
# Conventions: a MAC is one multiply-accumulate; FLOPs = 2 × MACs. Papers often
# write "FLOPs" for MACs (ResNet-50's "3.8 × 10⁹ FLOPs", MobileNetV2's "300M
# MAdds") — `keras_cv_course.models.complexity` states both.

# %%
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from keras_cv_course import models  # noqa: E402
from keras_cv_course.models.complexity import complexity_table, count_flops  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__ or "Architectures of the course, by the numbers")
parser.add_argument("--fast", action="store_true", help="count FLOPs of a few small models only")
parser.add_argument("--out", default="runs/01_architectures", help="folder for the table and the chart")
# parse_known_args: Jupyter passes its own arguments when the cells run in a kernel
ARGS, _ = parser.parse_known_args(sys.argv[1:] if __name__ == "__main__" else [])
os.makedirs(ARGS.out, exist_ok=True)

# Models whose FLOPs are counted in --fast mode (each builds in about a second).
FAST_FLOPS = ("lenet5", "squeezenet1_1", "mobilenet")

# %% [markdown]
# ## 1. The families and their sizes
#
# `list_models()` gives every registered name; `model_info(name)` what the
# registry knows without building anything: family, paper, default input,
# parameters (of the default build, 1000-class top), preprocessing, feature taps.
# FLOPs need the layer shapes, so the model is built (no weights) and
# `count_flops` adds up the multiply-accumulates of its convolutions and dense
# layers at the default input.

# %%
names = models.list_models()
families = {}
for name in names:
    families.setdefault(models.model_info(name).family, []).append(name)
print(f"{len(names)} models in {len(families)} families:")
for family, members in families.items():
    print(f"  {family:<14} {', '.join(members)}")

flops_names = [n for n in names if n in FAST_FLOPS] if ARGS.fast else names
gflops = {row.name: row.gflops for row in complexity_table(flops_names)}

rows = []
for name in names:
    info = models.model_info(name)
    rows.append((name, info.family, "x".join(map(str, info.input_shape)), info.params, gflops.get(name)))

header = f"{'model':<24} {'family':<14} {'input':<12} {'params (M)':>11} {'GFLOPs':>9}"
lines = [header, "-" * len(header)]
for name, family, shape, params, flops in rows:
    flops_text = f"{flops:9.3f}" if flops is not None else f"{'-':>9}"
    lines.append(f"{name:<24} {family:<14} {shape:<12} {params / 1e6:11.2f} {flops_text}")
table = "\n".join(lines)
print(table)
with open(os.path.join(ARGS.out, "complexity_table.txt"), "w") as handle:
    handle.write(table + "\n")
with open(os.path.join(ARGS.out, "complexity_table.csv"), "w") as handle:
    handle.write("model,family,input,params,gflops\n")
    for name, family, shape, params, flops in rows:
        handle.write(f"{name},{family},{shape},{params},{'' if flops is None else f'{flops:.6f}'}\n")

# %% [markdown]
# ## 2. Basic versus bottleneck block (He et al. 2016, Fig. 5)
#
# On a 256-channel map, ResNet-34's *basic* block is two 3×3 convolutions of
# 256 → 256: 3·3·256·256 · 2 ≈ 1.18M weights. ResNet-50's *bottleneck* squeezes to
# 64 channels first: 1×1 256→64, 3×3 64→64, 1×1 64→256 ≈ 70k weights — about 17×
# fewer, which is what lets ResNet-50/101/152 go deep. (Biases and BatchNorm left
# out; the Keras models below have none, so `count_params` equals the formula.)

# %%
basic_formula = 3 * 3 * 256 * 256 * 2
bottleneck_formula = 1 * 1 * 256 * 64 + 3 * 3 * 64 * 64 + 1 * 1 * 64 * 256


def conv_stack(specs, channels=256):
    inputs = keras.Input((14, 14, channels))
    x = inputs
    for index, (filters, kernel) in enumerate(specs):
        x = keras.layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=f"conv{index + 1}")(x)
    return keras.Model(inputs, x)


basic = conv_stack([(256, 3), (256, 3)])
bottleneck = conv_stack([(64, 1), (64, 3), (256, 1)])
assert basic.count_params() == basic_formula == 1_179_648
assert bottleneck.count_params() == bottleneck_formula == 69_632
print(f"basic block:      3x3x256x256 x 2          = {basic_formula:>9,} weights")
print(f"bottleneck block: 1x1 64 / 3x3 64 / 1x1 256 = {bottleneck_formula:>9,} weights "
      f"({basic_formula / bottleneck_formula:.1f}x fewer)")
print(f"MACs at 14x14: basic {count_flops(basic).macs / 1e6:.0f}M, bottleneck {count_flops(bottleneck).macs / 1e6:.1f}M")

# %% [markdown]
# ## 3. GoogLeNet: deeper than AlexNet with ~12× fewer parameters
#
# Szegedy et al. (2015) report that GoogLeNet uses about 12 times fewer
# parameters than Krizhevsky's AlexNet (~5M against 60M, as the Inception-v3 paper
# recounts). Most of AlexNet's 61M weights sit in its fully connected layers (a
# 6·6·256 → 4096 Dense alone has 37.7M), while GoogLeNet ends with global average
# pooling and a single 1024 → 1000 classifier. Counting that classifier and the
# BatchNorm of the torchvision layout registered here, GoogLeNet has 6.6M
# parameters: about 9× fewer than AlexNet's 61.1M — the same order of saving.

# %%
alexnet_params = models.model_info("alexnet").params
try:
    googlenet_params = models.model_info("googlenet").params
except ValueError:  # the GoogLeNet family is not registered in this checkout
    googlenet_params = None
if googlenet_params is None:
    print(f"AlexNet: {alexnet_params / 1e6:.1f}M parameters; GoogLeNet is not registered here.")
else:
    ratio = alexnet_params / googlenet_params
    print(f"AlexNet {alexnet_params / 1e6:.1f}M vs GoogLeNet {googlenet_params / 1e6:.1f}M parameters: {ratio:.1f}x fewer")
    assert 8 < ratio < 13, ratio

# %% [markdown]
# ## 4. Where a depthwise-separable network spends its multiply-adds
#
# MobileNet (Howard et al. 2017, Table 2) puts ~95% of its MACs in 1×1
# (pointwise) convolutions and ~3% in the depthwise 3×3s: a depthwise-separable
# unit costs `k²·C + C·C'` per position instead of `k²·C·C'`.

# %%
mobilenet = models.get_model("mobilenet", input_shape=(224, 224, 3))
cost = count_flops(mobilenet)
by_kind = cost.by_kind()
pointwise = sum(r.macs for r in cost.layers if r.kind == "Conv2D" and r.name.startswith("conv_pw"))
print(f"MobileNet: {cost.macs / 1e6:.0f}M MACs (paper: 569M), {cost.params / 1e6:.2f}M parameters")
for kind, macs in by_kind.items():
    print(f"  {kind:<16} {macs / cost.macs:6.1%}")
print(f"  of which 1x1 pointwise convs: {pointwise / cost.macs:.1%}")
del mobilenet
keras.backend.clear_session()

# %% [markdown]
# ## 5. Parameters against FLOPs
#
# The two measures of size disagree: VGG-16 is both heavy and slow, AlexNet is
# heavy but cheap (its weights are in the FC layers, applied once), and the
# mobile networks are small in both.

# %%
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

charted = [(name, params, flops) for name, _, _, params, flops in rows if flops is not None]
figure = Figure(figsize=(max(6.0, 0.5 * len(charted) + 2), 4.5))
FigureCanvasAgg(figure)
left = figure.add_subplot(1, 1, 1)
positions = range(len(charted))
width = 0.4
left.bar([p - width / 2 for p in positions], [c[1] / 1e6 for c in charted], width, label="parameters (M)",
         color="tab:blue")
left.set_ylabel("parameters (millions)")
right = left.twinx()
right.bar([p + width / 2 for p in positions], [c[2] for c in charted], width, label="GFLOPs", color="tab:orange")
right.set_ylabel("GFLOPs (2 x multiply-adds) at default input")
left.set_xticks(list(positions))
left.set_xticklabels([c[0] for c in charted], rotation=60, ha="right", fontsize=8)
left.set_title("Parameters vs FLOPs" + (" (--fast subset)" if ARGS.fast else ""))
handles = left.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
left.legend(handles, ["parameters (M)", "GFLOPs"], loc="upper left")
figure.tight_layout()
chart_path = os.path.join(ARGS.out, "params_vs_flops.png")
figure.savefig(chart_path, dpi=100)
print(f"wrote {os.path.join(ARGS.out, 'complexity_table.txt')} and {chart_path}")
