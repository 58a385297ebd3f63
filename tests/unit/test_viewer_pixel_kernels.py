"""The viewer's WebAssembly pixel kernels (viewer/frontend/src/viewer/loading/pixelKernels.wat) give the
same values as plain loops: run in Node by the front end's own check script, which compiles the text
module as the build does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FRONTEND = Path(__file__).resolve().parents[2] / "viewer" / "frontend"


def test_pixel_kernels_match_plain_loops() -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js builds the viewer and runs this check"
    assert (FRONTEND / "node_modules" / "wabt").is_dir(), "the front end's packages (make builds them)"
    result = subprocess.run(  # noqa: S603 - the project's own script
        [node, "build/checkPixelKernels.mjs"], cwd=FRONTEND, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    checked = [line for line in result.stdout.splitlines() if line.startswith("ok ")]
    # 9 frame sizes x 5 offsets x 3 kinds of values.
    assert len(checked) == 135, result.stdout[-3000:]
