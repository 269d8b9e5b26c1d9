"""Run by test_distributed.py in a subprocess: TensorFlow must see the logical
devices before it initialises, so each scenario gets a fresh interpreter.

    python dist_script.py mirrored OUT.npz      # default vs MirroredStrategy on 2 logical CPUs
    python dist_script.py worker OUT.npz        # one worker of a MultiWorkerMirroredStrategy (TF_CONFIG set)
    python dist_script.py mirrored_adapt OUT.npz  # fashion_cnn's whitening stem adapted under MirroredStrategy
"""

import os
import sys
import tempfile

import numpy as np
import tensorflow as tf


def split_cpu(count):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])


def train(strategy, initial, run_dir, *, samples, global_batch, epochs):
    """``(final weights, whether the run compiled with XLA)``."""
    from keras_cv_course import data
    from keras_cv_course.models import get_model
    from keras_cv_course.training import fit

    with strategy.scope():
        model = get_model("lenet5")
        if initial is not None:
            model.set_weights(initial)
    ds = data.load("fashion_mnist_sample", "train").take(samples)
    per_replica = global_batch // strategy.num_replicas_in_sync
    result = fit(model, ds, None, epochs=epochs, batch_size=per_replica, optimizer="sgd", learning_rate=0.05,
                 schedule="constant", strategy=strategy, run_dir=run_dir, seed=0, verbose=0, evaluate=False,
                 shuffle=False)
    return [np.asarray(w) for w in result.model.get_weights()], bool(result.model.jit_compile)


def main(mode, out):
    import keras

    keras.config.disable_traceback_filtering()
    if mode == "mirrored":
        split_cpu(2)
        from keras_cv_course.training import get_strategy

        root = tempfile.mkdtemp()
        default = get_strategy("default")
        with default.scope():
            from keras_cv_course.models import get_model

            initial = get_model("lenet5").get_weights()
        single, single_jit = train(default, initial, os.path.join(root, "default"), samples=512, global_batch=64,
                                   epochs=1)
        mirrored_strategy = get_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
        assert mirrored_strategy.num_replicas_in_sync == 2, mirrored_strategy.num_replicas_in_sync
        mirrored, mirrored_jit = train(mirrored_strategy, initial, os.path.join(root, "mirrored"), samples=512,
                                       global_batch=64, epochs=1)
        changed = max(float(np.abs(a - b).max()) for a, b in zip(single, initial))
        np.savez(out, changed=changed, replicas=2, jit=np.array([single_jit, mirrored_jit]),
                 **{f"single_{i}": w for i, w in enumerate(single)}, **{f"mirrored_{i}": w for i, w in enumerate(mirrored)})
    elif mode == "worker":
        from keras_cv_course.training import get_strategy

        strategy = get_strategy("auto")
        import keras

        keras.utils.set_random_seed(0)
        with strategy.scope():
            from keras_cv_course.models import get_model

            initial = get_model("lenet5").get_weights()
        weights, _ = train(strategy, None, os.path.join(tempfile.mkdtemp(), "run"), samples=256, global_batch=64, epochs=2)
        np.savez(out, strategy=type(strategy).__name__, replicas=strategy.num_replicas_in_sync,
                 changed=max(float(np.abs(a - b).max()) for a, b in zip(weights, initial)),
                 **{f"w_{i}": w for i, w in enumerate(weights)})
    elif mode == "mirrored_adapt":
        split_cpu(2)
        adapt_under_mirrored(out)
    else:
        raise SystemExit(f"unknown mode {mode}")


def adapt_under_mirrored(out):
    """fit fashion_cnn on two replicas; save each replica's stem kernel and the
    kernel the layer gets from the same images outside any strategy."""
    from keras_cv_course import data
    from keras_cv_course.blocks import PatchWhitening
    from keras_cv_course.training import fit, get_strategy

    strategy = get_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
    result = fit("fashion_cnn", "fashion_mnist_sample", epochs=1, batch_size=32, steps_per_epoch=2, strategy=strategy,
                 run_dir=os.path.join(tempfile.mkdtemp(), "run"), seed=0, verbose=0, evaluate=False)
    kernel = result.model.get_layer("stem_whiten").kernel.value  # a MirroredVariable: one copy per replica
    images, _ = data.load_arrays("fashion_mnist_sample", "train")
    expected = PatchWhitening(3).adapt(images.reshape(-1, 28, 28, 1) / 255.0).kernel.numpy()
    np.savez(out, expected=expected, **{f"replica_{i}": np.asarray(v) for i, v in enumerate(kernel.values)})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
