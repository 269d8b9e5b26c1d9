"""README.md's models table is the registry's: regenerate it with
``python -m keras_cv_course.models.catalog --write`` when this fails."""

import pytest

from keras_cv_course.models import catalog, list_models


def test_readme_models_table_is_current():
    with open(catalog.README, encoding="utf-8") as handle:
        table = catalog.readme_table(handle.read())
    assert table == catalog.markdown_table(), "README.md's models table is stale: run python -m keras_cv_course.models.catalog --write"
    assert len(table.splitlines()) == len(list_models()) + 2


def test_missing_markers_are_reported():
    with pytest.raises(ValueError, match="no models table between"):
        catalog.readme_table("# a README without the table")
