from django.urls import path

from reporting import views

app_name = "reporting"
urlpatterns = [
    path("exams/<int:exam_id>", views.workspace, name="workspace"),
    path("studies/<str:study_uid>", views.workspace_for_study, name="workspace-study"),
    path("reports/<int:report_id>/versions/<int:number>", views.version, name="version"),
]
