from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pacs.models import Study


@login_required
def home(request: HttpRequest) -> HttpResponse:
    studies = (
        Study.objects.filter(organization_id=request.user.organization_id)
        .select_related("patient")
        .order_by("-study_date", "-updated_at")[:100]
    )
    dicomweb_root = request.build_absolute_uri("/dicomweb")
    return render(request, "viewer/home.html", {"studies": studies, "dicomweb_root": dicomweb_root})
