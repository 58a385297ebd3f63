"""The viewer benchmark of issue 4: our viewer against OHIF Viewer 3 on Orthanc, in headless Chromium.

Time from opening a study to its first image, and to every slice of the 2,000-slice CT loaded.
``python -m bench.viewer --help``; see bench/README.md (section "Viewer benchmark").
"""
