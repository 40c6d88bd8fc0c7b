"""The ``mod_wsgi`` module as WSGI applications hosted by this Apache module see it.

Only importable inside Apache. ``application_group`` and ``FileWrapper`` are filled in by the
module when the interpreter first serves a WSGI request (spec mod_wsgi-compat §13).
"""

version = (4, 9, 4)
process_group = ""  # embedded mode: the Apache child itself
application_group = None
FileWrapper = None

shutdown_callbacks: list = []
event_callbacks: list = []


def _threads_per_process() -> int:
    try:
        import _apache

        threads = _apache.mpm_query(2)  # AP_MPMQ_IS_THREADED
        return int(_apache.mpm_query(6)) if threads else 1  # AP_MPMQ_MAX_THREADS
    except Exception:  # noqa: BLE001 - outside Apache
        return 1


def _maximum_processes() -> int:
    try:
        import _apache

        return int(_apache.mpm_query(12))  # AP_MPMQ_MAX_DAEMONS
    except Exception:  # noqa: BLE001 - outside Apache
        return 1


threads_per_process = _threads_per_process()
maximum_processes = _maximum_processes()


def subscribe_shutdown(callback) -> None:
    """Run ``callback(event, **kwargs)`` when the Apache child exits."""
    shutdown_callbacks.append(callback)
    try:
        from mod_python import apache

        # register_cleanup calls its callable with one argument (its data); mod_wsgi's
        # embedded mode gives no reason
        apache.register_cleanup(
            lambda _data: callback("process_stopping", shutdown_reason=""))
    except Exception:  # noqa: BLE001 - outside Apache the callback is only recorded
        pass


def subscribe_events(callback) -> None:
    """Recorded for compatibility; request events are not published in this version."""
    event_callbacks.append(callback)


def server_metrics():
    """None: WSGIServerMetrics is not implemented (mod_wsgi returns None when it is Off)."""
    return None
