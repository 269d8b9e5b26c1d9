"""``kcc convert``: torchvision weights into Keras files, once.

``kcc convert resnet50_torchvision --out DIR`` reads torchvision's file from the
torch hub cache (or ``--weights FILE.pth``), converts it through the model's
name table and writes ``DIR/model.weights.h5`` and ``DIR/model.keras`` with
``DIR/report.json`` recording the model, the preprocessing and the evaluation
transform of the weights, so ``kcc predict DIR image.jpg`` and
``get_model(name, weights="DIR/model.weights.h5")`` need no torch.
"""

import json
import os

from keras_cv_course._files import sha256_of


def add_commands(subparsers):
    convert = subparsers.add_parser("convert", help="convert torchvision weights to .weights.h5 / .keras files")
    convert.add_argument("model", help="a registered model with a torchvision layout (kcc list; e.g. resnet18)")
    convert.add_argument("--weights", default="torchvision",
                         help="'torchvision' (its file in the torch hub cache, default) or a .pth state_dict")
    convert.add_argument("--out", required=True, help="folder for model.weights.h5, model.keras and report.json")
    convert.add_argument("--no-top", action="store_true", help="convert without the classifier (include_top=False)")
    convert.set_defaults(func=run_convert)


def run_convert(args):
    written = convert(args.model, args.out, weights=args.weights, include_top=not args.no_top)
    for path in written:
        print(path)
    return 0


def convert(model_name, out, *, weights="torchvision", include_top=True):
    """Build ``model_name`` with ``weights`` (``"torchvision"`` or a torch file)
    and write its ``.weights.h5``, ``.keras`` and ``report.json`` under ``out``;
    returns their paths. A file already there is refused, never overwritten."""
    from keras_cv_course.models import get_model, model_info
    from keras_cv_course.models.torch_weights import TORCHVISION_FILES, torchvision_weight_spec

    info = model_info(model_name)
    if info.name not in TORCHVISION_FILES:
        raise ValueError(f"{model_name!r} has no torchvision layout to convert into; these do: "
                         f"{', '.join(sorted(TORCHVISION_FILES))}")
    paths = [os.path.join(out, name) for name in ("model.weights.h5", "model.keras", "report.json")]
    existing = [path for path in paths if os.path.exists(path)]
    if existing:
        raise FileExistsError(f"{existing[0]} exists; pick another --out folder (kcc convert never overwrites)")
    source = _source_file(info.name, weights)
    model = get_model(info.name, weights=source, include_top=include_top)
    os.makedirs(out, exist_ok=True)
    model.save_weights(paths[0])
    model.save(paths[1])
    spec = torchvision_weight_spec(info.name)
    config = {"model": info.name, "dataset": "imagenet", "include_top": include_top,
              "preprocessing": spec.preprocessing, "resize_size": spec.resize_size, "crop_size": spec.crop_size,
              "interpolation": spec.interpolation, "source": os.path.abspath(source),
              "source_sha256": sha256_of(source)}
    with open(paths[2], "w") as handle:
        json.dump({"config": config}, handle, indent=1)
    return paths


def _source_file(model_name, weights):
    """The torch file ``weights`` names: torchvision's, fetched and verified, or a path."""
    from keras_cv_course.models.torch_weights import torchvision_weight_spec

    if weights == "torchvision":
        return torchvision_weight_spec(model_name).fetch(model_name, True)
    if not os.path.isfile(weights):
        raise FileNotFoundError(f"No torch weight file {weights!r} (expected 'torchvision' or a .pth file)")
    return weights
