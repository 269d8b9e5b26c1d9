"""Classifier builders of every family of the course, and the registry.

Importing this package registers every family. Builders take the
keras.applications signature (include_top, weights, input_tensor, input_shape,
pooling, classes, classifier_activation, name).
"""

from keras_cv_course.models.registry import FeatureTap, ModelInfo, get_model, list_models, model_info, register
from keras_cv_course.models.preprocessing import preprocess_input
from keras_cv_course.models.features import feature_extractor
from keras_cv_course.models.lenet import LeNet5
from keras_cv_course.models.alexnet import AlexNet, ZFNet
from keras_cv_course.models.vgg import VGG11, VGG11_BN, VGG13, VGG13_BN, VGG16, VGG16_BN, VGG19, VGG19_BN
from keras_cv_course.models.nin import NiN

__all__ = [
    "FeatureTap", "ModelInfo", "get_model", "list_models", "model_info", "register",
    "preprocess_input", "feature_extractor",
    "LeNet5", "AlexNet", "ZFNet",
    "VGG11", "VGG11_BN", "VGG13", "VGG13_BN", "VGG16", "VGG16_BN", "VGG19", "VGG19_BN",
    "NiN",
]
