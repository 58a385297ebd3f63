from django.urls import path

from network import views

app_name = "network"
urlpatterns = [
    path("", views.remote, name="remote"),
    path("retrieve/", views.retrieve, name="retrieve"),
    path("send/", views.send, name="send"),
    path("transfers/", views.transfers, name="transfers"),
    path("transfers.json", views.transfers_json, name="transfers-json"),
]
