"""The worklist's pages (under the front desk's /ris/) and its API (/api/worklist/), mounted at the root."""

from django.urls import include, path

from worklist import views

app_name = "worklist"
urlpatterns = [
    path("ris/unmatched/", views.unmatched, name="unmatched"),
    path("ris/unmatched/studies/<int:pk>/", views.study_review, name="study"),
    path("ris/unmatched/history/", views.history, name="history"),
    path("ris/unmatched/history/<int:pk>/undo/", views.undo, name="undo"),
    path("api/worklist/", include("worklist.api.urls")),
]
