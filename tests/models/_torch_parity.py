"""Output parity with torchvision: a randomly initialised torchvision model
(BN running statistics randomised too) saved as a state_dict, converted into
our model and run on the same random batch in eval mode must give the same
logits (atol = rtol = 1e-4). torch is imported first (before TensorFlow)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

import keras  # noqa: E402

from keras_cv_course.models import get_model  # noqa: E402
from keras_cv_course.models.torch_weights import load_torch_weights  # noqa: E402

ATOL = RTOL = 1e-4


def randomised(torch_model, input_hw=(64, 64), seed=0, calibrate=True):
    """``torch_model`` in eval mode with random BN parameters and statistics:
    γ, β drawn at random, the running statistics first set to those of a random
    batch of ``input_hw`` (``calibrate``: one train-mode pass with momentum 1, so
    activations stay of order 1 through a deep plain or residual net, as in a
    trained one), then perturbed at random (fresh statistics would make every BN
    the identity). ``calibrate=False`` keeps PyTorch's fresh statistics before
    the perturbation: EfficientNet's squeeze-excitation gates grow calibrated
    activations to 1e3–1e7, where float32 rounding exceeds 1e-4."""
    generator = torch.Generator().manual_seed(seed)
    norms = [m for m in torch_model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for module in norms:
            if module.affine:
                module.weight.copy_(0.5 + torch.rand(module.num_features, generator=generator))
                module.bias.copy_(0.1 * torch.randn(module.num_features, generator=generator))
        if norms and calibrate:
            momenta = [module.momentum for module in norms]
            for module in norms:
                module.momentum = 1.0
            torch_model.train()
            torch_model(torch.randn(2, 3, *input_hw, generator=generator))
            for module, momentum in zip(norms, momenta):
                module.momentum = momentum
        for module in norms:
            std = module.running_var.sqrt()
            module.running_mean.add_(0.1 * std * torch.randn(module.num_features, generator=generator))
            module.running_var.mul_(0.5 + torch.rand(module.num_features, generator=generator))
        _unit_logits(torch_model.eval(), torch.randn(2, 3, *input_hw, generator=generator))
    return torch_model


def _unit_logits(torch_model, images):
    """Scale the last Linear so the logits have unit spread (a random classifier
    on unnormalised features gives logits near 50, where 1e-4 is float32's noise)."""
    linears = [m for m in torch_model.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        return
    out = torch_model(images)
    spread = float((out[0] if isinstance(out, tuple) else out).std())
    linears[-1].weight.div_(spread)
    linears[-1].bias.div_(spread)


def state_dict_arrays(torch_model):
    """The state_dict as numpy arrays (what ``torch.save`` then ``torch.load`` gives)."""
    return {key: value.detach().cpu().numpy() for key, value in torch_model.state_dict().items()}


def converted(name, torch_model, input_hw, **keras_kwargs):
    """``get_model(name, input_shape=(*input_hw, 3), **keras_kwargs)`` with
    ``torch_model``'s weights converted in."""
    model = get_model(name, weights=None, input_shape=(*input_hw, 3), **keras_kwargs)
    return load_torch_weights(model, state_dict_arrays(torch_model), name)


def torch_outputs(torch_model, images):
    """``torch_model`` on NHWC ``images`` (numpy), as NHWC/NC numpy."""
    with torch.no_grad():
        out = torch_model(torch.from_numpy(images.transpose(0, 3, 1, 2).copy()))
    out = out.numpy()
    return out.transpose(0, 2, 3, 1) if out.ndim == 4 else out


def assert_close_at_scale(actual, expected, err_msg=""):
    """``actual`` equals ``expected`` to rtol 1e-4 and atol 1e-4 times the
    spread of ``expected`` (at least 1e-4): for feature maps, whose activations
    reach ~10 where logits are of order 1."""
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL * max(1.0, float(np.std(expected))),
                               err_msg=err_msg)


def random_images(input_hw, batch=2, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, *input_hw, 3)).astype("float32")


def assert_torchvision_parity(name, torch_model, input_hw, *, batch=2, torch_forward=None, calibrate=True,
                              **keras_kwargs):
    """Our ``name`` with ``torch_model``'s converted weights gives torchvision's
    outputs on a random batch of ``input_hw`` (``torch_forward``: the torch
    callable to compare with, default the model). Returns the largest absolute
    difference. ``keras_kwargs`` go to ``get_model`` (default
    ``classifier_activation=None``: logits)."""
    torch_model = randomised(torch_model, input_hw, calibrate=calibrate)
    keras_kwargs.setdefault("classifier_activation", None)
    model = converted(name, torch_model, input_hw, **keras_kwargs)
    images = random_images(input_hw, batch)
    expected = torch_outputs(torch_forward or torch_model, images)
    actual = keras.ops.convert_to_numpy(model(images, training=False))
    np.testing.assert_allclose(actual, expected, atol=ATOL, rtol=RTOL, err_msg=f"{name} at {input_hw}")
    return float(np.max(np.abs(actual - expected)))
