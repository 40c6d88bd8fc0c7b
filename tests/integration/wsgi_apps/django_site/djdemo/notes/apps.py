from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "djdemo.notes"
    label = "notes"
