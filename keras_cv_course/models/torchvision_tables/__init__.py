"""Name tables from torchvision's state_dict keys to the Keras layers of the
models that share torchvision's layouts, one module per family, each with
``TABLES = {registered name: table(model) -> [TorchModule]}`` in torchvision's
state_dict order (see ``keras_cv_course.models.torch_weights``)."""
