"""The viewer's RLE Lossless decoder (viewer/frontend/src/viewer/loading/rleFrames.ts over pixelKernels.wat) gives
back the pixels pydicom encoded, byte for byte: frames of pydicom's own RLE encoder (both its plugins; the
archive's RLE copies come from the same encoder) are checked by the front end's check script in Node, with its
own generated and malformed frames."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
from pydicom.pixels import get_encoder
from pydicom.uid import RLELossless

FRONTEND = Path(__file__).resolve().parents[2] / "viewer" / "frontend"

# The check script's own cases: 25 generated frames, 1 on what the generator made, 29 malformed frames or
# arguments, 4 frames the standard allows, 2 on the output buffer given and 1 on the transfer syntax; one
# more per fixture written here.
SCRIPT_CASES = 71


def _ct_slice(rng: np.random.Generator, size: int, background: int, body: int, dtype: str) -> np.ndarray:
    """A CT-like slice: a noisy elliptical body, a brighter disc in it, on a constant background."""
    y, x = np.mgrid[0:size, 0:size]
    y = (y - size / 2) / (size * 0.42)
    x = (x - size / 2) / (size * 0.47)
    inside = x * x + y * y < 1
    bone = (x - 0.3) ** 2 + (y + 0.2) ** 2 < 0.02
    values = np.full((size, size), background, dtype=np.int64)
    values[inside] = body + rng.normal(0, 20, inside.sum()).round().astype(np.int64)
    values[bone] = body + 700 + rng.normal(0, 40, bone.sum()).round().astype(np.int64)
    return values.astype(dtype)


def _frames(rng: np.random.Generator) -> list[tuple[str, np.ndarray, int, str]]:
    """Each fixture's name, pixels, bits stored and encoder plugin."""
    runs = np.repeat(rng.integers(0, 4096, 12), [1, 2, 127, 128, 129, 130, 200, 1, 3, 5, 10, 29])
    return [
        ("ct512-pydicom", _ct_slice(rng, 512, 0, 1040, "<u2"), 12, "pydicom"),
        ("ct512-pylibjpeg", _ct_slice(rng, 512, 0, 1040, "<u2"), 12, "pylibjpeg"),
        ("ct256-signed", _ct_slice(rng, 256, -2000, 40, "<i2"), 16, "pydicom"),
        ("random-7x5", rng.integers(0, 65536, (7, 5)).astype("<u2"), 16, "pydicom"),
        ("signed12-17x33", rng.integers(-2048, 2048, (17, 33)).astype("<i2"), 12, "pydicom"),
        ("signed-1x1", np.array([[-1234]], dtype="<i2"), 16, "pylibjpeg"),
        ("constant-64x64", np.full((64, 64), 1000, dtype="<u2"), 16, "pydicom"),
        ("runs-3x255", runs.reshape(3, 255).astype("<u2"), 12, "pylibjpeg"),
        ("random-2x511", rng.integers(0, 65536, (2, 511)).astype("<u2"), 16, "pydicom"),
    ]


def test_rle_decoder_matches_pydicom_encoder(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js builds the viewer and runs this check"
    assert (FRONTEND / "node_modules" / "wabt").is_dir(), "the front end's packages (make builds them)"
    assert (FRONTEND / "node_modules" / "typescript").is_dir(), "the front end's packages (make builds them)"

    encoder = get_encoder(RLELossless)
    frames = _frames(np.random.default_rng(20261205))
    for name, pixels, bits_stored, plugin in frames:
        rows, columns = pixels.shape
        raw = pixels.tobytes()
        encoded = encoder.encode(
            raw,
            encoding_plugin=plugin,
            rows=rows,
            columns=columns,
            samples_per_pixel=1,
            bits_allocated=16,
            bits_stored=bits_stored,
            pixel_representation=int(pixels.dtype.kind == "i"),
            photometric_interpretation="MONOCHROME2",
            number_of_frames=1,
        )
        assert int.from_bytes(encoded[:4], "little") == 2, f"{name}: one segment per byte of the 16-bit values"
        (tmp_path / f"{name}.rle").write_bytes(encoded)
        (tmp_path / f"{name}.raw").write_bytes(raw)
        (tmp_path / f"{name}.json").write_text(json.dumps({"rows": rows, "columns": columns}))

    result = subprocess.run(  # noqa: S603 - the project's own script
        [node, "build/checkRleDecode.mjs", str(tmp_path)],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    checked = [line for line in result.stdout.splitlines() if line.startswith("ok ")]
    fixtures = [line for line in checked if line.split()[1] == "fixture"]
    assert len(fixtures) == len(frames), result.stdout[-3000:]
    assert len(checked) == SCRIPT_CASES + len(frames), result.stdout[-3000:]
