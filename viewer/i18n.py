"""The viewer's UI strings, translated on the server and handed to the TypeScript UI in its configuration.

The TypeScript code calls ``t("English text")``; every such text is listed here so that makemessages
finds it and the zh-Hans catalogue translates it.
"""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

VIEWER_STRINGS = [
    # Overlays
    gettext_noop("ID"),
    gettext_noop("Series"),
    gettext_noop("Acc"),
    gettext_noop("Image"),
    gettext_noop("Position"),
    gettext_noop("Thickness"),
    gettext_noop("W"),
    gettext_noop("L"),
    gettext_noop("Zoom"),
    gettext_noop("Inverted"),
    # Toolbar
    gettext_noop("Studies"),
    gettext_noop("Study list"),
    gettext_noop("Window"),
    gettext_noop("Pan"),
    gettext_noop("Length"),
    gettext_noop("Angle"),
    gettext_noop("Rectangle"),
    gettext_noop("Ellipse"),
    gettext_noop("Probe"),
    gettext_noop("Invert"),
    gettext_noop("Rotate"),
    gettext_noop("Flip H"),
    gettext_noop("Flip V"),
    gettext_noop("Fit"),
    gettext_noop("Reset"),
    gettext_noop("Layout"),
    gettext_noop("Window presets"),
    gettext_noop("Thumbnails"),
    gettext_noop("Toolbar"),
    gettext_noop("Left"),
    gettext_noop("Right"),
    gettext_noop("Top"),
    gettext_noop("Bottom"),
    # Window presets
    gettext_noop("Brain"),
    gettext_noop("Lung"),
    gettext_noop("Bone"),
    gettext_noop("Abdomen"),
    gettext_noop("Mediastinum"),
    # Series panel and loading
    gettext_noop("{count} images"),
    gettext_noop("{loaded} of {total} images loaded"),
    gettext_noop("Loading…"),
    gettext_noop("No study was found for this link."),
    gettext_noop("This study has no images."),
    gettext_noop("The study could not be loaded."),
    # Measurements
    gettext_noop("Measurements"),
    gettext_noop("Mean"),
    gettext_noop("SD"),
    gettext_noop("Area"),
    # Keyboard help
    gettext_noop("Keyboard shortcuts"),
    gettext_noop("Next image"),
    gettext_noop("Previous image"),
    gettext_noop("Forward 10 images"),
    gettext_noop("Back 10 images"),
    gettext_noop("First image"),
    gettext_noop("Last image"),
    gettext_noop("Window preset"),
    gettext_noop("Next viewport"),
    gettext_noop("Wheel"),
    gettext_noop("Scroll images"),
    gettext_noop("Right drag"),
    gettext_noop("Middle drag"),
    gettext_noop("Close"),
    # Cine, MPR, localisation, comparison, second screen, key images, tags, touch
    gettext_noop("Play"),
    gettext_noop("Pause"),
    gettext_noop("Frames per second"),
    gettext_noop("Play / pause cine"),
    gettext_noop("Faster cine"),
    gettext_noop("Slower cine"),
    gettext_noop("MPR"),
    gettext_noop("MPR needs a series of several slices."),
    gettext_noop("MPR could not be built for this series."),
    gettext_noop("Measurements are made on the stack; leave MPR first."),
    gettext_noop("Axial"),
    gettext_noop("Sagittal"),
    gettext_noop("Coronal"),
    gettext_noop("Locate"),
    gettext_noop("Reference lines"),
    gettext_noop("Priors"),
    gettext_noop("Sync window"),
    gettext_noop("Sync zoom/pan"),
    gettext_noop("Sync slices"),
    gettext_noop("Link windows"),
    gettext_noop("Second screen"),
    gettext_noop("Open on second screen"),
    gettext_noop("Key image"),
    gettext_noop("Key image added to the report."),
    gettext_noop("The key image could not be saved."),
    gettext_noop("The active viewport shows no image."),
    gettext_noop("Tags"),
    gettext_noop("DICOM tags"),
    gettext_noop("Search tags"),
    gettext_noop("(bulk data)"),
    gettext_noop("(binary)"),
    gettext_noop("{count} items"),
    gettext_noop("One finger"),
    gettext_noop("Scroll"),
]


def viewer_translations() -> dict[str, str]:
    """The strings in the active language, keyed by their English text."""
    return {text: gettext(text) for text in VIEWER_STRINGS}
