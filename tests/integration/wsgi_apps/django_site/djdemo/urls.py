"""URLs of the djdemo project."""
from django.conf import settings
from django.contrib import admin
from django.urls import path, re_path
from django.views.static import serve

from djdemo.notes import views

urlpatterns = [
    path("", views.index, name="index"),
    path("notes/new/", views.new_note, name="new-note"),
    path("notes/<int:pk>/", views.note_detail, name="note-detail"),
    path("whoami/", views.whoami, name="whoami"),
    path("echo/", views.echo, name="echo"),
    re_path(r"^files/(?P<path>.*)$", serve, {"document_root": settings.FILES_DIR}),
    path("admin/", admin.site.urls),
]
