from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from dicomweb.views.routing import WadoUriResource

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("dicomweb/", include("dicomweb.urls")),
    re_path(r"^wado/?$", WadoUriResource.as_view(), name="wado-uri"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/ris/", include("ris.api.urls")),
    path("api/", include("pacs.api.urls")),
    path("ris/", include("ris.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/reporting/", include("reporting.api.urls")),
    path("reporting/", include("reporting.urls")),
    path("network/", include("network.urls")),
    path("", include("worklist.urls")),
    path("", include("viewer.urls")),
]
