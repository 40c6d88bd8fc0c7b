"""Views of the notes app: a list, a CSRF-protected form, a detail page, JSON probes."""
import json

from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from djdemo.notes.forms import NoteForm
from djdemo.notes.models import Note


def index(request):
    notes = Note.objects.order_by("-id")[:20]
    return render(request, "notes/index.html", {"notes": notes})


def new_note(request):
    if request.method == "POST":
        form = NoteForm(request.POST)
        if form.is_valid():
            note = form.save()
            return redirect("note-detail", pk=note.pk)
    else:
        form = NoteForm()
    return render(request, "notes/new.html", {"form": form}, status=400 if form.errors else 200)


def note_detail(request, pk):
    note = get_object_or_404(Note, pk=pk)
    return render(request, "notes/detail.html", {"note": note})


def whoami(request):
    """The logged-in user (session), where we are mounted and which interpreter runs us."""
    return JsonResponse({
        "user": request.user.username if request.user.is_authenticated else None,
        "is_staff": request.user.is_staff,
        "script_name": request.META.get("SCRIPT_NAME"),
        "path_info": request.path_info,
        "path": request.path,
        "application_group": request.META.get("mod_wsgi.application_group"),
        "main_interpreter": _in_main_interpreter(),
    })


def echo(request):
    """A raw JSON POST (CSRF-exempt by design of the test: plain API endpoint)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    data = json.loads(request.body)
    return JsonResponse({"received": data, "length": len(request.body)})


echo.csrf_exempt = True


def _in_main_interpreter():
    try:
        import _xxsubinterpreters as subinterpreters
    except ImportError:
        return None
    return subinterpreters.get_current() == subinterpreters.get_main()
