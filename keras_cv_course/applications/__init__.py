"""A drop-in for ``keras.applications``: the same module names, each with its
builders, ``preprocess_input(x, data_format=None)`` and
``decode_predictions(preds, top=5)``::

    from keras_cv_course.applications import resnet50
    model = resnet50.ResNet50(weights="imagenet")
    resnet50.decode_predictions(model.predict(resnet50.preprocess_input(images)), top=3)

keras.applications' modules: ``vgg16``, ``vgg19``, ``resnet``, ``resnet50``,
``resnet_v2``, ``inception_v3``, ``mobilenet``, ``mobilenet_v2``, ``densenet``,
``efficientnet`` and ``imagenet_utils``; this package's own families, laid out
the same way: ``vgg`` (every VGG configuration), ``alexnet``, ``overfeat``,
``googlenet``, ``squeezenet``, ``resnext``, ``wide_resnet``, ``nin``, ``lenet``.
A module's ``preprocess_input`` uses the mode the registry records for its
models (``keras_cv_course.models.model_info(name).preprocessing``); one
implementation, ``imagenet_utils.preprocess_input``, serves them all.
"""

from keras_cv_course.applications import (
    alexnet, densenet, efficientnet, googlenet, imagenet_utils, inception_v3, lenet, mobilenet, mobilenet_v2, nin,
    overfeat, resnet, resnet50, resnet_v2, resnext, squeezenet, vgg, vgg16, vgg19, wide_resnet,
)
# The builders keras.applications exposes at its top level, under the same names.
from keras_cv_course.models import (
    DenseNet121, DenseNet169, DenseNet201, EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3,
    EfficientNetB4, EfficientNetB5, EfficientNetB6, EfficientNetB7, InceptionV3, MobileNet, MobileNetV2,
    ResNet50, ResNet50V2, ResNet101, ResNet101V2, ResNet152, ResNet152V2, VGG16, VGG19,
)

KERAS_MODULES = ("vgg16", "vgg19", "resnet", "resnet50", "resnet_v2", "inception_v3", "mobilenet", "mobilenet_v2",
                 "densenet", "efficientnet")
OWN_MODULES = ("vgg", "alexnet", "overfeat", "googlenet", "squeezenet", "resnext", "wide_resnet", "nin", "lenet")

__all__ = ["imagenet_utils", *KERAS_MODULES, *OWN_MODULES,
           "DenseNet121", "DenseNet169", "DenseNet201", "EfficientNetB0", "EfficientNetB1", "EfficientNetB2",
           "EfficientNetB3", "EfficientNetB4", "EfficientNetB5", "EfficientNetB6", "EfficientNetB7", "InceptionV3",
           "MobileNet", "MobileNetV2", "ResNet50", "ResNet50V2", "ResNet101", "ResNet101V2", "ResNet152",
           "ResNet152V2", "VGG16", "VGG19"]
