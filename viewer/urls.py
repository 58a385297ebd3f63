from django.urls import path

from viewer import views

urlpatterns = [
    path("", views.home, name="home"),
    path("viewer", views.viewer, name="viewer"),
    path("viewer/settings", views.settings_update, name="viewer-settings"),
    path("viewer/measurements", views.measurements, name="viewer-measurements"),
    path("viewer/measurements/<str:uid>", views.measurement, name="viewer-measurement"),
    path("studies/<str:study_uid>/favourite", views.favourite, name="study-favourite"),
]
