"""Classifier builders of every family of the course, and the registry.

Importing this package registers every family. Builders take the
keras.applications signature (include_top, weights, input_tensor, input_shape,
pooling, classes, classifier_activation, name).
"""

from keras_cv_course.models.registry import FeatureTap, ModelInfo, get_model, list_models, model_info, register
from keras_cv_course.models.preprocessing import preprocess_input
from keras_cv_course.models.features import feature_extractor
from keras_cv_course.models.lenet import LeNet5
from keras_cv_course.models.alexnet import VGGS, AlexNet, ZFNet
from keras_cv_course.models.alexnet import OverFeatAccurate, OverFeatFast
from keras_cv_course.models.vgg import VGG11, VGG11_BN, VGG13, VGG13_BN, VGG16, VGG16_BN, VGG16_C, VGG19, VGG19_BN
from keras_cv_course.models.nin import NiN
from keras_cv_course.models.small import FashionVGG
from keras_cv_course.models.mobilenet import MobileNet, MobileNetV2
from keras_cv_course.models.efficientnet import (
    EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3,
    EfficientNetB4, EfficientNetB5, EfficientNetB6, EfficientNetB7,
)
from keras_cv_course.models.resnet import (
    CIFARResNet, CIFARResNet20, CIFARResNet32, CIFARResNet44, CIFARResNet56, CIFARResNet110,
    ResNet18, ResNet26, ResNet34, ResNet50, ResNet101, ResNet152, ResNet50V2, ResNet101V2, ResNet152V2,
    ResNeXt50_32x4d, ResNeXt101_32x8d, ResNeXt101_64x4d, WideResNet, WideResNet50_2, WideResNet101_2, WRN16_4, WRN28_10,
)
from keras_cv_course.models.googlenet import GoogLeNet
from keras_cv_course.models.inception_v3 import InceptionV3
from keras_cv_course.models.densenet import DenseNet121, DenseNet169, DenseNet201
from keras_cv_course.models.squeezenet import SqueezeNet1_0, SqueezeNet1_1
from keras_cv_course.models.yolo import FastYOLO, YOLOv1
from keras_cv_course.models.ssd import SSD300VGG16, SSDLiteMobileNetV2

__all__ = [
    "FeatureTap", "ModelInfo", "get_model", "list_models", "model_info", "register",
    "preprocess_input", "feature_extractor",
    "LeNet5", "AlexNet", "ZFNet", "VGGS",
    "VGG11", "VGG11_BN", "VGG13", "VGG13_BN", "VGG16", "VGG16_BN", "VGG16_C", "VGG19", "VGG19_BN",
    "NiN", "FashionVGG",
    "CIFARResNet", "CIFARResNet20", "CIFARResNet32", "CIFARResNet44", "CIFARResNet56", "CIFARResNet110",
    "ResNet18", "ResNet26", "ResNet34", "ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2", "ResNet152V2",
    "ResNeXt50_32x4d", "ResNeXt101_32x8d", "ResNeXt101_64x4d", "WideResNet", "WideResNet50_2", "WideResNet101_2", "WRN16_4", "WRN28_10",
    "GoogLeNet", "InceptionV3", "DenseNet121", "DenseNet169", "DenseNet201", "SqueezeNet1_0", "SqueezeNet1_1",
]
__all__ += [
    "MobileNet", "MobileNetV2",
    "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3",
    "EfficientNetB4", "EfficientNetB5", "EfficientNetB6", "EfficientNetB7",
]
__all__ += ["OverFeatFast", "OverFeatAccurate"]
__all__ += ["YOLOv1", "FastYOLO"]
__all__ += ["SSD300VGG16", "SSDLiteMobileNetV2"]
