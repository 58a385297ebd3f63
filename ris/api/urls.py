from django.urls import path
from rest_framework.routers import SimpleRouter

from ris.api import views

router = SimpleRouter(trailing_slash=False)
router.register("patients", views.PatientViewSet, basename="ris-patient")
router.register("orders", views.OrderViewSet, basename="ris-order")
router.register("exams", views.ExamViewSet, basename="ris-exam")
router.register("procedures", views.ProcedureViewSet, basename="ris-procedure")
router.register("rooms", views.RoomViewSet, basename="ris-room")
router.register("appointments", views.AppointmentViewSet, basename="ris-appointment")
urlpatterns = [path("lookup", views.LookupView.as_view(), name="ris-lookup"), *router.urls]
