"""URLs of the recipe project."""

from django.contrib import admin
from django.urls import path

from mysite import views

urlpatterns = [
    path("", views.index),
    path("api/", views.api),
    path("account/", views.account),
    path("boom/", views.boom),
    path("admin/", admin.site.urls),
]
