"""Run by test_distributed.py in a subprocess: TensorFlow must see the logical
devices before it initialises, so each scenario gets a fresh interpreter.

    python dist_script.py mirrored OUT.npz      # default vs MirroredStrategy on 2 logical CPUs
    python dist_script.py worker OUT.npz        # one worker of a MultiWorkerMirroredStrategy (TF_CONFIG set)
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
    return [np.asarray(w) for w in result.model.get_weights()]


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
        single = train(default, initial, os.path.join(root, "default"), samples=512, global_batch=64, epochs=1)
        mirrored_strategy = get_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
        assert mirrored_strategy.num_replicas_in_sync == 2, mirrored_strategy.num_replicas_in_sync
        mirrored = train(mirrored_strategy, initial, os.path.join(root, "mirrored"), samples=512, global_batch=64, epochs=1)
        changed = max(float(np.abs(a - b).max()) for a, b in zip(single, initial))
        np.savez(out, changed=changed, replicas=2,
                 **{f"single_{i}": w for i, w in enumerate(single)}, **{f"mirrored_{i}": w for i, w in enumerate(mirrored)})
    elif mode == "worker":
        from keras_cv_course.training import get_strategy

        strategy = get_strategy("auto")
        import keras

        keras.utils.set_random_seed(0)
        with strategy.scope():
            from keras_cv_course.models import get_model

            initial = get_model("lenet5").get_weights()
        weights = train(strategy, None, os.path.join(tempfile.mkdtemp(), "run"), samples=256, global_batch=64, epochs=2)
        np.savez(out, strategy=type(strategy).__name__, replicas=strategy.num_replicas_in_sync,
                 changed=max(float(np.abs(a - b).max()) for a, b in zip(weights, initial)),
                 **{f"w_{i}": w for i, w in enumerate(weights)})
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
