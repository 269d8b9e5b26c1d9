"""Record every registered model's layers (name, class, config digest, weight
shapes) at its default build, for tests/models/test_layer_snapshot.py.

    python tools/snapshot_layers.py            # rewrites tests/models/layer_snapshot.json.gz

Run it only when a change to layer names or shapes is intended: the test exists
so that a refactoring of the builders cannot change them silently (shipped
weights and keras.applications files load by those names and shapes).
"""

import gzip
import json
import os
import sys

SNAPSHOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "models",
                        "layer_snapshot.json.gz")


def layer_records(model):
    """``[name, class, config digest, [weight shapes]]`` of every layer, nested models flattened."""
    import hashlib

    import keras

    records = []
    for layer in model.layers:
        config = {k: v for k, v in layer.get_config().items() if k != "name"}
        digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]
        records.append([layer.name, type(layer).__name__, digest, [list(w.shape) for w in layer.weights]])
        if isinstance(layer, keras.Model):
            records += [[f"{layer.name}/{r[0]}", *r[1:]] for r in layer_records(layer)]
    return records


def model_records(name):
    import keras

    from keras_cv_course import models

    with keras.StatelessScope():
        model = models.get_model(name)
    return {"layers": layer_records(model), "inputs": [list(t.shape) for t in model.inputs],
            "outputs": [list(t.shape) for t in model.outputs]}


def main():
    from keras_cv_course import models

    snapshot = {name: model_records(name) for name in models.list_models()}
    with gzip.open(SNAPSHOT, "wt") as handle:
        json.dump(snapshot, handle, sort_keys=True)
    print(f"{len(snapshot)} models -> {SNAPSHOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
