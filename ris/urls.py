from django.urls import path

from ris import views

app_name = "ris"
urlpatterns = [
    path("", views.desk, name="desk"),
    path("scan/", views.scan, name="scan"),
    path("register/", views.register, name="register"),
    path("patients/", views.patients, name="patients"),
    path("patients/<int:pk>/", views.patient, name="patient"),
    path("patients/<int:pk>/edit/", views.patient_edit, name="patient_edit"),
    path("exams/batch/", views.exams_batch, name="exams_batch"),
    path("exams/<int:pk>/", views.exam, name="exam"),
    path("exams/<int:pk>/transition/", views.exam_transition_view, name="exam_transition"),
    path("exams/<int:pk>/book/", views.exam_book, name="exam_book"),
    path("exams/<int:pk>/slip.pdf", views.exam_slip, name="exam_slip"),
    path("appointments/<int:pk>/cancel/", views.appointment_cancel_view, name="appointment_cancel"),
    path("rooms/", views.room_day, name="room_day"),
]
