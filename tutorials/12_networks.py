# %% [markdown]
# # 12 — Networks (EE-559 7.2): ResNet's table and its blocks, counted
#
# He et al., "Deep Residual Learning for Image Recognition" (CVPR 2016), Table 1
# gives the multiply-adds of ResNet-18, 34, 50, 101 and 152 at 224x224: 1.8, 3.6,
# 3.8, 7.6 and 11.3 x 10^9. The lecture quotes them, together with the weights of
# one residual block. This walkthrough
#
# 1. counts the multiply-accumulates of the registered ResNets with
#    `keras_cv_course.models.complexity.count_flops` and prints them beside the
#    table. The paper strides the first 1x1 convolution of a bottleneck, as
#    keras.applications does (`resnet50`). torchvision strides the 3x3 ("v1.5",
#    `resnet50_torchvision`), which costs about 0.3 x 10^9 more;
# 2. builds the package's residual blocks (`blocks.basic_block`,
#    `blocks.bottleneck_block`) and counts their convolution weights:
#    - a basic block on 64 channels, 2·3·3·64·64 = 73,728 (≈ 73k);
#    - on 256 channels, 1,179,648 (≈ 1.2M);
#    - the bottleneck 256 → 64 → 256, 69,632 (≈ 70k).
#
# GoogLeNet against AlexNet and the bottleneck's saving are in tutorial 01.
#
# `python tutorials/12_networks.py` counts all five depths and both layouts;
# `--fast` ResNet-18 and ResNet-50 only.

# %%
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_cv_course import blocks, models  # noqa: E402
from keras_cv_course.models.complexity import count_flops  # noqa: E402

# He et al. 2016, Table 1: multiply-adds at 224x224.
PAPER_MACS = {"resnet18": 1.8e9, "resnet34": 3.6e9, "resnet50": 3.8e9, "resnet101": 7.6e9, "resnet152": 11.3e9}
FAST_DEPTHS = ("resnet18", "resnet50")


def resnet_macs(names):
    """``{name: multiply-accumulates at 224x224}`` of registered models, built without weights."""
    return {name: count_flops(models.get_model(name, input_shape=(224, 224, 3))).macs for name in names}


def conv_weights(model):
    """Weights of the convolution kernels of ``model`` (no biases, no batch norm)."""
    return sum(int(np.prod(layer.kernel.shape)) for layer in model.layers if isinstance(layer, keras.layers.Conv2D))


def block_weights():
    """Convolution weights of one basic block on 64 and on 256 channels and of
    the bottleneck 256 -> 64 -> 256, built with the package's blocks."""
    def built(channels, make):
        inputs = keras.Input((56, 56, channels))
        return conv_weights(keras.Model(inputs, make(inputs)))

    return {
        "basic_64": built(64, lambda x: blocks.basic_block(x, 64, name="basic_64")),
        "basic_256": built(256, lambda x: blocks.basic_block(x, 256, name="basic_256")),
        "bottleneck_256": built(256, lambda x: blocks.bottleneck_block(x, 64, name="bottleneck_256")),
    }


def main(fast=False, out="runs/12_networks"):
    """Print the ResNet table beside the paper's and the blocks' weights; return them."""
    os.makedirs(out, exist_ok=True)
    names = FAST_DEPTHS if fast else tuple(PAPER_MACS)
    macs = resnet_macs(names)
    v15 = resnet_macs([f"{name}_torchvision" for name in names if name in ("resnet50", "resnet101", "resnet152")])
    print("1. model        MACs here   paper (Table 1)   torchvision layout (stride on the 3x3)")
    for name in names:
        torch_layout = v15.get(f"{name}_torchvision")
        extra = f"{torch_layout / 1e9:.2f} x 10^9" if torch_layout else "same blocks"
        print(f"   {name:<12} {macs[name] / 1e9:>5.2f} x 10^9   {PAPER_MACS[name] / 1e9:>4.1f} x 10^9       {extra}")
    weights = block_weights()
    print("2. convolution weights of one block")
    print(f"   basic block, 64 channels:    {weights['basic_64']:>9,}  (2·3·3·64·64)")
    print(f"   basic block, 256 channels:   {weights['basic_256']:>9,}  (2·3·3·256·256)")
    print(f"   bottleneck 256 -> 64 -> 256: {weights['bottleneck_256']:>9,}  (256·64 + 3·3·64·64 + 64·256)")
    return {"macs": macs, "torchvision_macs": v15, "blocks": weights}


# %%
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Networks (EE-559 7.2): ResNet's table and its blocks")
    parser.add_argument("--fast", action="store_true", help="ResNet-18 and ResNet-50 only")
    parser.add_argument("--out", default="runs/12_networks", help="folder for the outputs")
    args, _ = parser.parse_known_args(sys.argv[1:])
    main(fast=args.fast, out=args.out)
