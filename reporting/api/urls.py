from django.urls import path
from rest_framework.routers import SimpleRouter

from reporting.api import views

router = SimpleRouter(trailing_slash=False)
router.register("reports", views.ReportViewSet, basename="reporting-report")
urlpatterns = [
    path("exams/<int:exam_id>/report", views.ExamReportView.as_view(), name="reporting-exam-report"),
    path("templates", views.TemplateListView.as_view(), name="reporting-templates"),
    path("phrases", views.PhraseTreeView.as_view(), name="reporting-phrases"),
    *router.urls,
]
