"""OHIF Viewer 3, unmodified, lists and displays our studies over DICOMweb (same-origin session)."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest
from PIL import Image

from pacs import synthetic
from pacs.models import Study, User
from tests.browser.ohif_front import FrontServer, ohif_dist
from tests.conftest import ARTIFACTS, REPO


@pytest.fixture(scope="session")
def ohif() -> Path:
    return ohif_dist(Path(os.environ.get("PACS_TEST_CACHE", REPO / ".cache")))


def canvas_pixels(page) -> Image.Image:  # type: ignore[no-untyped-def]
    """What the viewport canvas holds (not a screenshot, which a passing overlay or toast could cover)."""
    data_url = page.evaluate(
        """() => { const c = document.querySelector('canvas');
                   const g = document.createElement('canvas'); g.width = c.width; g.height = c.height;
                   g.getContext('2d').drawImage(c, 0, 0); return g.toDataURL('image/png'); }"""
    )
    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("L")


def test_ohif_lists_and_displays_a_ct_study(live_server, ohif, page, org_alpha, ingest, settings):
    settings.USE_X_FORWARDED_HOST = True  # as behind the hospital's reverse proxy
    User.objects.create_user("radiologist", password="read-all-day", organization=org_alpha)
    patient = synthetic.Patient("Zhang^San=张三", "OHIF01", "19700101", "M", "GB18030")
    # The middle slices of the head: the first image OHIF shows then crosses skull and brain.
    ingest(org_alpha, *list(synthetic.ct_series(patient, slices=24, size=128, accession="OHIFACC"))[8:16])
    study_uid = Study.objects.get().study_instance_uid

    with FrontServer(ohif, live_server.url) as front:
        page.goto(f"{front.url}/accounts/login/")
        page.fill("#id_username", "radiologist")
        page.fill("#id_password", "read-all-day")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")

        page.goto(f"{front.url}/")
        page.get_by_text("Zhang, San").first.wait_for(timeout=60_000)
        page.get_by_text("CT HEAD").first.wait_for()
        shots = ARTIFACTS / "ohif"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "study-list.png"))

        page.goto(f"{front.url}/viewer?StudyInstanceUIDs={study_uid}")
        page.locator("canvas").first.wait_for(timeout=60_000)
        # The image is drawn once the frames have arrived, and OHIF may draw more than once on a busy
        # machine: wait until the skull (bright) shows, as the check below expects of the final image.
        page.wait_for_function(
            """() => { const c = document.querySelector('canvas'); if (!c || !c.width) return false;
                       const g = document.createElement('canvas'); g.width = c.width; g.height = c.height;
                       const x = g.getContext('2d'); x.drawImage(c, 0, 0);
                       const d = x.getImageData(0, 0, c.width, c.height).data;
                       let bright = 0, samples = 0;
                       for (let i = 0; i < d.length; i += 4 * 97) { samples++; if (d[i] > 128) bright++; }
                       return bright > 0.015 * samples; }""",
            timeout=90_000,
        )
        page.screenshot(path=str(shots / "viewer.png"))
        pixels = canvas_pixels(page)
        histogram = pixels.histogram()
        bright = sum(histogram[128:])
        dark = sum(histogram[:30])
        # The phantom shows a bright skull ring around grey brain on a black background.
        assert bright > 0.01 * pixels.width * pixels.height
        assert dark > 0.2 * pixels.width * pixels.height
