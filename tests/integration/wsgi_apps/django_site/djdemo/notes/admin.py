from django.contrib import admin

from djdemo.notes.models import Note

admin.site.register(Note)
