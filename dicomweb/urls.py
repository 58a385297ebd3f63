"""DICOMweb routes (PS3.18 Chapter 10), mounted at /dicomweb. Trailing slashes are tolerated."""

from django.urls import re_path

from dicomweb.views import routing as r

UID = r"(?P<{}>[0-9.]+)"
ST, SE, IN = UID.format("study"), UID.format("series"), UID.format("instance")
FRAMES = r"(?P<frames>[0-9]+(?:,[0-9]+)*)"
BULK = r"(?P<tag_path>[0-9A-Fa-f/]+)"

urlpatterns = [
    re_path(r"^studies/?$", r.StudiesResource.as_view()),
    re_path(rf"^studies/{ST}/?$", r.StudyResource.as_view()),
    re_path(rf"^studies/{ST}/metadata/?$", r.MetadataResource.as_view()),
    re_path(rf"^studies/{ST}/rendered/?$", r.RenderedResource.as_view()),
    re_path(rf"^studies/{ST}/pixeldata/?$", r.PixelDataResource.as_view()),
    re_path(rf"^studies/{ST}/thumbnail/?$", r.ThumbnailResource.as_view()),
    re_path(rf"^studies/{ST}/series/?$", r.SeriesSearchResource.as_view()),
    re_path(rf"^studies/{ST}/instances/?$", r.InstancesSearchResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/?$", r.SeriesResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/metadata/?$", r.MetadataResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/rendered/?$", r.RenderedResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/pixeldata/?$", r.PixelDataResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/thumbnail/?$", r.ThumbnailResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/instances/?$", r.InstancesSearchResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/instances/{IN}/?$", r.InstanceResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/instances/{IN}/metadata/?$", r.MetadataResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/instances/{IN}/rendered/?$", r.RenderedResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/instances/{IN}/pixeldata/?$", r.PixelDataResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/instances/{IN}/thumbnail/?$", r.ThumbnailResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/instances/{IN}/frames/{FRAMES}/?$", r.FramesResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/instances/{IN}/frames/{FRAMES}/rendered/?$", r.RenderedResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/instances/{IN}/frames/{FRAMES}/thumbnail/?$", r.ThumbnailResource.as_view()),
    re_path(rf"^studies/{ST}/series/{SE}/instances/{IN}/bulk/{BULK}/?$", r.BulkDataResource.as_view()),
    re_path(r"^series/?$", r.SeriesSearchResource.as_view()),
    re_path(r"^instances/?$", r.InstancesSearchResource.as_view()),
]
