"""``python -m keras_cv_course``: the ``kcc`` command, for when the console
script is not on PATH (``python -m keras_cv_course list 'vgg*'``)."""

import sys

from keras_cv_course.cli import console

if __name__ == "__main__":
    sys.exit(console())
