"""Datasets, input pipelines and augmentation (DESIGN.md §6).

- ``load(name, split)``: a ``tf.data.Dataset`` of ``(uint8 image, int32 label)``
  from the first local source that has it, else a TFDS download;
  ``info(name)``, ``locate(name, split)``, ``list_datasets()``, ``check_dataset(spec)``
  (a name or an existing image folder, refused before anything is written).
- ``image_folder(path, ...)``: one sub-folder per class; ``folder_split(path, split)``
  its train / validation / test split (sibling folders or a seeded hold-out).
- ``pipeline(ds, ...)``: decode → resize → augment → preprocess → batch → prefetch, for
  ``(image, label)``, ``(image, one-hot/multi-hot vector)``, ``(image, mask)`` and
  ``(image, {"boxes", "classes"})`` elements; masks and boxes move with every geometric step.
- ``augment``: ``PCALighting``, per-image ``RandomCrop``, presets, ``ten_crop_predict``.
- ``scenes``: ``fashion_scenes``, Fashion-MNIST items pasted on a canvas with exact
  boxes, instance and semantic masks (``generate_scenes``, ``SceneConfig``,
  ``scene_statistics``; ``load("fashion_scenes" | "fashion_scenes_masks", split)``).
- ``voc``: Pascal VOC from a VOCdevkit or TFDS (``load_voc``, ``write_voc``;
  ``load("voc2007" | "voc2012" | "voc2007_segmentation" | ..., split)``); ``coco``:
  COCO instances files (``load_coco``, ``write_coco``). Malformed annotations raise
  ``AnnotationError`` naming the file and field, or are skipped and counted
  (``on_error="skip"``, ``AnnotationReport``).
"""

from keras_cv_course.data.datasets import (
    DatasetInfo,
    DatasetNotFoundError,
    Source,
    check_dataset,
    info,
    list_datasets,
    load,
    load_arrays,
    locate,
)
from keras_cv_course.data.folders import FolderReport, FolderSplit, folder_roots, folder_split, image_folder, is_image_folder
from keras_cv_course.data.pipeline import pipeline
from keras_cv_course.data import augment
from keras_cv_course.data.augment import PCALighting, RandomAffine, RandomCrop, pca_basis, ten_crop, ten_crop_predict
from keras_cv_course.data import coco, folders, scenes, voc
from keras_cv_course.data.coco import load_coco, write_coco
from keras_cv_course.data.scenes import SceneConfig, Scenes, scene_statistics
from keras_cv_course.data.scenes import generate as generate_scenes
from keras_cv_course.data.voc import VOC_CLASSES, AnnotationError, AnnotationReport, load_voc, write_voc

__all__ = [
    "DatasetInfo", "DatasetNotFoundError", "Source", "check_dataset", "info", "list_datasets", "load", "load_arrays", "locate",
    "FolderReport", "FolderSplit", "folder_roots", "folder_split", "image_folder", "is_image_folder", "pipeline",
    "augment", "PCALighting", "RandomAffine", "RandomCrop", "pca_basis", "ten_crop", "ten_crop_predict",
    "coco", "folders", "scenes", "voc", "load_coco", "write_coco", "SceneConfig", "Scenes", "scene_statistics", "generate_scenes",
    "VOC_CLASSES", "AnnotationError", "AnnotationReport", "load_voc", "write_voc",
]
