"""``manage.py import_dicom``: folders and zip archives, a summary with reasons, and resuming."""

from __future__ import annotations

import io
import shutil
import zipfile

import pytest
from django.core.management import CommandError, call_command

from pacs.models import Instance
from tests.conftest import PYDICOM_TEST_FILES
from tests.dicomweb.helpers import make_instance

pytestmark = pytest.mark.django_db


def run(*args) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    call_command("import_dicom", *map(str, args), stdout=out, verbosity=0)
    return out.getvalue()


@pytest.fixture
def source(tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "incoming"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(PYDICOM_TEST_FILES / "CT_small.dcm", folder / "ct.dcm")
    shutil.copy(PYDICOM_TEST_FILES / "no_meta.dcm", folder / "nested" / "broken.dcm")
    (folder / "README.txt").write_text("not an image")
    with zipfile.ZipFile(folder / "batch.zip", "w") as archive:
        for index in range(3):
            archive.writestr(f"series/{index}.dcm", make_instance())
    return folder


def test_folder_and_zip_are_imported_with_a_summary(org_alpha, source):
    output = run(source, "--organization", "alpha")
    assert "6 files: 4 stored, 0 replaced, 0 duplicate, 2 refused" in output
    assert "broken.dcm: 0xC000" in output
    assert "README.txt: 0xC000" in output
    assert Instance.objects.filter(series__study__organization=org_alpha).count() == 4


def test_a_second_run_resumes_from_the_journal(org_alpha, source):
    run(source, "--organization", "alpha")
    second = run(source, "--organization", "alpha")
    assert "0 stored" in second and "6 skipped" in second
    restarted = run(source, "--organization", "alpha", "--restart")
    assert "4 duplicate" in restarted
    assert Instance.objects.count() == 4


def test_unknown_organization_and_missing_path_are_clear_errors(org_alpha, tmp_path):
    with pytest.raises(CommandError, match="No organization"):
        run(tmp_path, "--organization", "nowhere")
    with pytest.raises(CommandError, match="does not exist"):
        run(tmp_path / "missing", "--organization", "alpha")
