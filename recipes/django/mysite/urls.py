"""URLs of the recipe project."""

from django.urls import path

from mysite import views

urlpatterns = [
    path("", views.index),
    path("api/", views.api),
    path("account/", views.account),
    path("boom/", views.boom),
]
