"""DICOMweb resources (PS3.18 10.x): each URL's HTTP methods mapped to the functions that serve them.

QIDO-RS lives in ``qido``, STOW-RS in ``stow``, WADO-RS in ``wado``; several share a URL (``/studies``
answers QIDO on GET and STOW on POST), so the mapping is kept here in one place.
"""

from __future__ import annotations

from dicomweb.views import qido, stow, wado
from dicomweb.views.base import DicomWebView


class StudiesResource(DicomWebView):
    def get(self, request):  # type: ignore[no-untyped-def]
        return qido.search_studies(request)

    def post(self, request):  # type: ignore[no-untyped-def]
        return stow.store_instances(request)


class StudyResource(DicomWebView):
    def get(self, request, study):  # type: ignore[no-untyped-def]
        return wado.retrieve_study(request, study=study)

    def post(self, request, study):  # type: ignore[no-untyped-def]
        return stow.store_instances(request, study=study)


class SeriesSearchResource(DicomWebView):
    def get(self, request, study=None):  # type: ignore[no-untyped-def]
        return qido.search_series(request, study=study)


class InstancesSearchResource(DicomWebView):
    def get(self, request, study=None, series=None):  # type: ignore[no-untyped-def]
        return qido.search_instances(request, study=study, series=series)


class SeriesResource(DicomWebView):
    def get(self, request, study, series):  # type: ignore[no-untyped-def]
        return wado.retrieve_series(request, study=study, series=series)


class InstanceResource(DicomWebView):
    def get(self, request, study, series, instance):  # type: ignore[no-untyped-def]
        return wado.retrieve_instance(request, study=study, series=series, instance=instance)


class MetadataResource(DicomWebView):
    def get(self, request, study, series=None, instance=None):  # type: ignore[no-untyped-def]
        return wado.retrieve_metadata(request, study=study, series=series, instance=instance)


class FramesResource(DicomWebView):
    def get(self, request, study, series, instance, frames):  # type: ignore[no-untyped-def]
        return wado.retrieve_frames(request, study=study, series=series, instance=instance, frames=frames)


class PixelDataResource(DicomWebView):
    def get(self, request, study, series=None, instance=None):  # type: ignore[no-untyped-def]
        return wado.retrieve_pixeldata(request, study=study, series=series, instance=instance)


class BulkDataResource(DicomWebView):
    def get(self, request, study, series, instance, tag_path):  # type: ignore[no-untyped-def]
        return wado.retrieve_bulkdata(request, study=study, series=series, instance=instance, tag_path=tag_path)


class RenderedResource(DicomWebView):
    def get(self, request, study, series=None, instance=None, frames=None):  # type: ignore[no-untyped-def]
        return wado.retrieve_rendered(request, study=study, series=series, instance=instance, frames=frames)


class ThumbnailResource(DicomWebView):
    def get(self, request, study, series=None, instance=None, frames=None):  # type: ignore[no-untyped-def]
        return wado.retrieve_thumbnail(request, study=study, series=series, instance=instance, frames=frames)


class WadoUriResource(DicomWebView):
    def get(self, request):  # type: ignore[no-untyped-def]
        from dicomweb.views import wado_uri

        return wado_uri.wado_uri(request)
