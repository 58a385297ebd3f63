from django.urls import path
from rest_framework.routers import SimpleRouter

from worklist.api import views

router = SimpleRouter(trailing_slash=False)
router.register("studies", views.StudyViewSet, basename="worklist-study")
router.register("series", views.SeriesViewSet, basename="worklist-series")
router.register("reassociations", views.ReassociationViewSet, basename="worklist-reassociation")
urlpatterns = [path("targets", views.TargetView.as_view(), name="worklist-targets"), *router.urls]
