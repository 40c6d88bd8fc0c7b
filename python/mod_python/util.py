"""mod_python.util: form parsing and small request helpers (spec §11).

FieldStorage parses the query string and ``application/x-www-form-urlencoded`` or
``multipart/*`` POST bodies (with or without Content-Length: chunked bodies are read to
their end).  Uploads are streamed block by block into temporary files; only non-file
fields are held in memory, and the sizes involved are bounded by the limits below.

Limits (``PythonOption`` keys, integers, ``0`` disables a limit).  Exceeding one makes
FieldStorage raise ``apache.SERVER_RETURN(413)``; malformed input raises ``(400)``:

``mod_python.util.max_fields`` (default 10000)
    number of fields in one FieldStorage: query string pairs, urlencoded pairs and
    multipart parts together.
``mod_python.util.max_part_header_size`` (default 65536)
    bytes of the header block of one multipart part (all its header lines together, so
    also the longest single header line).
``mod_python.util.max_field_size`` (default 16777216, 16 MiB)
    bytes of one non-file field held in memory (a multipart part without ``filename``)
    and of a whole urlencoded body.
``mod_python.util.max_memory_size`` (default 67108864, 64 MiB)
    bytes of all the non-file multipart fields of one body together.
``mod_python.util.max_files`` (default 100)
    number of file parts in one body.  Each is an open temporary file until the request
    ends, so this bounds the file descriptors one request can hold (a body of thousands of
    tiny file parts would otherwise exhaust them for every request of the process).

The size of file parts is not limited here: use Apache's ``LimitRequestBody`` to bound
uploads.  A client-supplied ``filename`` is only ever stored in ``Field.filename``; it is
never used to build a path.

``mod_python.apache`` is imported lazily so this module can be imported (and tested)
outside httpd.
"""

from __future__ import annotations

import html
import io
import re
import tempfile
from typing import Any, BinaryIO, Callable, Iterator, Optional, Union

# parse_qs(l) and parse_header live in util_parsing, apply_fs_data in util_apply; they are
# part of this module's API.
from mod_python.util_apply import apply_fs_data
from mod_python.util_parsing import _qsl, parse_header, parse_qs, parse_qsl

__all__ = [
    "FieldStorage", "Field", "StringField", "FieldList", "parse_header", "parse_qs",
    "parse_qsl", "apply_fs_data", "redirect", "readBlockSize",
]

# Size of the blocks multipart bodies are read in (the value mod_python has always used).
readBlockSize = 65368  # noqa: N816  (public mod_python name)

OPTION_MAX_FIELDS = "mod_python.util.max_fields"
OPTION_MAX_PART_HEADER_SIZE = "mod_python.util.max_part_header_size"
OPTION_MAX_FIELD_SIZE = "mod_python.util.max_field_size"
OPTION_MAX_MEMORY_SIZE = "mod_python.util.max_memory_size"
OPTION_MAX_FILES = "mod_python.util.max_files"

DEFAULT_MAX_FIELDS = 10000
DEFAULT_MAX_PART_HEADER_SIZE = 64 * 1024
DEFAULT_MAX_FIELD_SIZE = 16 * 1024 * 1024
DEFAULT_MAX_MEMORY_SIZE = 64 * 1024 * 1024
DEFAULT_MAX_FILES = 100

_HTTP_BAD_REQUEST = 400
_HTTP_LENGTH_REQUIRED = 411
_HTTP_REQUEST_ENTITY_TOO_LARGE = 413
_HTTP_NOT_IMPLEMENTED = 501


def _apache() -> Any:
    """The ``mod_python.apache`` module, imported on first use."""
    from mod_python import apache
    return apache


def _server_return(code: int) -> BaseException:
    return _apache().SERVER_RETURN(code)


def _to_bytes(text: str) -> bytes:
    """Bytes of a str read from Apache (UTF-8 decoded with surrogateescape)."""
    return text.encode("utf-8", "surrogateescape")


def _to_name(raw: Union[str, bytes]) -> str:
    """A field name as str: bytes are decoded UTF-8 with surrogateescape."""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "surrogateescape")
    return raw


# --------------------------------------------------------------------------- fields

class Field:
    """A file upload (a multipart part with a ``filename``)."""

    def __init__(self, name: Optional[str], *args: Any, **kwargs: Any) -> None:
        self.name = name
        self.filename: Optional[str] = None
        self.file: Optional[BinaryIO] = None
        self.type: Optional[str] = None
        self.type_options: dict = {}
        self.disposition: Optional[str] = None
        self.disposition_options: dict = {}
        self.headers: Any = {}
        if args or kwargs:
            self._legacy_init(*args, **kwargs)

    def _legacy_init(self, file: Any = None, ctype: Any = None, type_options: Any = None,
                     disp: Any = None, disp_options: Any = None, headers: Any = None) -> None:
        """The 3.5 constructor ``Field(name, file, ctype, type_options, disp, disp_options,
        headers={})``."""
        self.file = file
        self.type = ctype
        self.type_options = type_options if type_options is not None else {}
        self.disposition = disp
        self.disposition_options = disp_options if disp_options is not None else {}
        self.headers = headers if headers is not None else {}
        for key in (b"filename", "filename"):
            if key in self.disposition_options:
                self.filename = _to_name(self.disposition_options[key])
                break

    @property
    def value(self) -> Optional[bytes]:
        """The whole content of the file (read from the start; the file is rewound)."""
        if self.file is None:
            return None
        self.file.seek(0)
        data = self.file.read()
        self.file.seek(0)
        return data

    def __repr__(self) -> str:
        return f"Field({self.name!r}, filename={self.filename!r})"

    def __del__(self) -> None:
        file = self.__dict__.get("file")
        if file is not None:
            try:
                file.close()
            except Exception:  # noqa: BLE001 - never raise from a destructor
                pass


class StringField(bytes):
    """A non-file field: ``bytes`` holding the raw value, plus Field-like attributes."""

    name: Optional[str] = None
    filename = None
    headers: Any = {}
    ctype = "text/plain"
    type = "text/plain"
    type_options: dict = {}
    disposition: Optional[str] = None
    disp_options: Optional[dict] = None
    disposition_options: Optional[dict] = None

    def __new__(cls, value: Union[bytes, bytearray, memoryview, str] = b"") -> "StringField":
        if isinstance(value, str):
            value = value.encode("utf-8", "surrogateescape")
        return super().__new__(cls, value)

    @property
    def value(self) -> bytes:
        return bytes(self)

    @property
    def file(self) -> BinaryIO:
        """A BytesIO over the value, created on first use."""
        file = self.__dict__.get("_file")
        if file is None:
            file = io.BytesIO(bytes(self))
            self.__dict__["_file"] = file
        return file

    @file.setter
    def file(self, file: BinaryIO) -> None:
        self.__dict__["_file"] = file

    def __repr__(self) -> str:
        return f"Field({self.name!r}, {bytes(self)!r})"

    def __str__(self) -> str:
        return bytes.__repr__(self)

    def __reduce__(self) -> tuple:
        return (_rebuild_string_field, (bytes(self), dict(self.__dict__)))


def _rebuild_string_field(value: bytes, state: dict) -> StringField:
    field = StringField(value)
    field.__dict__.update(state)
    return field


_AnyField = Union[Field, StringField]


class FieldList(list):
    """A list of fields with a lazily built name → fields index."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._index: Optional[dict] = None

    def table(self) -> dict:
        """``{name: [fields...]}`` in first-seen order (rebuilt after changes)."""
        if self._index is None:
            index: dict = {}
            for item in self:
                index.setdefault(item.name, []).append(item)
            self._index = index
        return self._index

    def _changed(self) -> None:
        self._index = None

    def append(self, item: Any) -> None:
        super().append(item)
        if self._index is not None:
            self._index.setdefault(item.name, []).append(item)

    def extend(self, items: Any) -> None:
        super().extend(items)
        self._changed()

    def insert(self, pos: Any, item: Any) -> None:
        super().insert(pos, item)
        self._changed()

    def remove(self, item: Any) -> None:
        super().remove(item)
        self._changed()

    def pop(self, *args: Any) -> Any:
        item = super().pop(*args)
        self._changed()
        return item

    def clear(self) -> None:
        super().clear()
        self._changed()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        super().sort(*args, **kwargs)
        self._changed()

    def reverse(self) -> None:
        super().reverse()
        self._changed()

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self._changed()

    def __iadd__(self, other: Any) -> "FieldList":
        super().__iadd__(other)
        self._changed()
        return self

    def __imul__(self, other: Any) -> "FieldList":
        super().__imul__(other)
        self._changed()
        return self


# --------------------------------------------------------------------------- FieldStorage

class _Limits:
    """Parser limits, from PythonOption values or the defaults."""

    def __init__(self, req: Any) -> None:
        options: Any = {}
        get_options = getattr(req, "get_options", None)
        if get_options is not None:
            options = get_options()
        self.max_fields = self._read(options, OPTION_MAX_FIELDS, DEFAULT_MAX_FIELDS)
        self.max_part_header_size = self._read(options, OPTION_MAX_PART_HEADER_SIZE,
                                               DEFAULT_MAX_PART_HEADER_SIZE)
        self.max_field_size = self._read(options, OPTION_MAX_FIELD_SIZE, DEFAULT_MAX_FIELD_SIZE)
        self.max_memory_size = self._read(options, OPTION_MAX_MEMORY_SIZE,
                                          DEFAULT_MAX_MEMORY_SIZE)
        self.max_files = self._read(options, OPTION_MAX_FILES, DEFAULT_MAX_FILES)

    @staticmethod
    def _read(options: Any, key: str, default: int) -> int:
        text = options.get(key)
        if text is None or str(text).strip() == "":
            return default
        try:
            value = int(str(text).strip())
        except ValueError:
            raise ValueError(f"PythonOption {key} must be an integer, not {text!r}") from None
        return max(value, 0)


class _MultipartReader:
    """Reads a multipart body line by line, in blocks of at most ``readBlockSize`` bytes."""

    def __init__(self, req: Any, boundary: bytes) -> None:
        self.req = req
        self.delimiter = b"--" + boundary
        self.closing = self.delimiter + b"--"
        self.at_line_start = True  # the next line read starts at the beginning of a line
        self.eof = False

    def readline(self) -> tuple:
        """``(line, starts_a_line)``; ``line`` is ``b""`` at the end of the body."""
        if self.eof:
            return b"", True
        line = self.req.readline(readBlockSize)
        starts = self.at_line_start
        if not line:
            self.eof = True
            return b"", starts
        self.at_line_start = line[-1] == 0x0A
        return line, starts

    def boundary_kind(self, line: bytes) -> int:
        """For a line read at a line start: 0 data, 1 delimiter, 2 closing delimiter."""
        if not line.startswith(self.delimiter):
            return 0
        if line[-1] != 0x0A and len(line) >= readBlockSize:
            return 0  # only the first block of a longer line
        text = line.rstrip(b"\r\n").rstrip(b" \t")
        if text == self.delimiter:
            return 1
        if text == self.closing:
            return 2
        return 0

    @staticmethod
    def complete(line: bytes) -> bool:
        """Whether ``line`` ends a line (newline, or a short read at the end of the body)."""
        return line[-1] == 0x0A or len(line) < readBlockSize


class FieldStorage:
    """Form fields of a request: query string plus a urlencoded or multipart POST body."""

    def __init__(self, req: Any, keep_blank_values: Any = 0, strict_parsing: Any = 0,
                 file_callback: Optional[Callable[[str], Any]] = None,
                 field_callback: Optional[Callable[[], Any]] = None) -> None:
        self.list = FieldList()
        self.keep_blank_values = keep_blank_values
        self.strict_parsing = strict_parsing
        self._file_callback = file_callback
        self._field_callback = field_callback
        self._limits = _Limits(req)
        self._req = req
        self._files = 0          # file parts stored so far (max_files)
        self._memory = 0         # bytes of non-file multipart fields held (max_memory_size)

        if req.args:
            self._add_urlencoded(_to_bytes(req.args))

        if req.method != "POST":
            return

        headers = req.headers_in
        length = headers.get("Content-Length")
        chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        if length is None and not chunked:
            raise self._refuse(_HTTP_LENGTH_REQUIRED, "a POST without Content-Length or chunked body")

        ctype_text = headers.get("Content-Type")
        if ctype_text is None:
            ctype, ctype_options = b"application/x-www-form-urlencoded", {}
        else:
            ctype, ctype_options = parse_header(_to_bytes(ctype_text))

        if ctype == b"application/x-www-form-urlencoded":
            self._add_urlencoded(self._read_urlencoded_body(req, length, chunked))
        elif ctype.startswith(b"multipart/"):
            boundary = ctype_options.get(b"boundary", "")
            if not boundary:
                raise self._refuse(_HTTP_BAD_REQUEST, "multipart Content-Type without boundary")
            self._read_multipart(req, boundary.encode("latin-1"))
        else:
            raise self._refuse(_HTTP_NOT_IMPLEMENTED,
                               f"cannot parse a body of type {ctype.decode('latin-1')!r}")

    def _refuse(self, code: int, why: str) -> BaseException:
        """The SERVER_RETURN that refuses the body, after one log line saying why (MP0130).

        A limit (413) is logged at warning, naming the PythonOption that sets it; malformed
        input (400, 411, 501) at info, as httpd logs its own refusals of bad requests."""
        log_error = getattr(self._req, "log_error", None)
        if log_error is not None:
            level = _apache().APLOG_WARNING if code == _HTTP_REQUEST_ENTITY_TOO_LARGE \
                else _apache().APLOG_INFO
            log_error(f"MP0130: util.FieldStorage: {why}: answering {code}", level)
        return _server_return(code)

    # -- parsing

    def _check_file_count(self) -> None:
        limit = self._limits.max_files
        if limit and self._files >= limit:
            raise self._refuse(_HTTP_REQUEST_ENTITY_TOO_LARGE,
                               f"more than {limit} file parts ({OPTION_MAX_FILES})")
        self._files += 1

    def _memory_room(self) -> int:
        """The size limit for the next non-file part: max_field_size, or less when the
        fields already held leave less of max_memory_size (0: no limit)."""
        field_limit = self._limits.max_field_size
        total_limit = self._limits.max_memory_size
        if not total_limit:
            return field_limit
        room = max(total_limit - self._memory, 0)
        if room == 0:
            raise self._refuse(_HTTP_REQUEST_ENTITY_TOO_LARGE,
                               f"non-file fields over {total_limit} bytes in all "
                               f"({OPTION_MAX_MEMORY_SIZE})")
        return min(field_limit, room) if field_limit else room

    def _check_field_count(self) -> None:
        limit = self._limits.max_fields
        if limit and len(self.list) >= limit:
            raise self._refuse(_HTTP_REQUEST_ENTITY_TOO_LARGE,
                               f"more than {limit} fields ({OPTION_MAX_FIELDS})")

    def _add_urlencoded(self, data: bytes) -> None:
        limit = self._limits.max_fields
        remaining = max(limit - len(self.list), 0) if limit else None
        try:
            pairs = _qsl(data, self.keep_blank_values, self.strict_parsing, remaining)
        except OverflowError:
            raise self._refuse(_HTTP_REQUEST_ENTITY_TOO_LARGE,
                               f"more than {limit} fields ({OPTION_MAX_FIELDS})") from None
        except ValueError as exc:
            raise self._refuse(_HTTP_BAD_REQUEST, f"malformed form data ({exc})") from None
        for name, value in pairs:
            field = StringField(value)
            field.name = _to_name(name)
            self.list.append(field)

    def _read_urlencoded_body(self, req: Any, length: Optional[str], chunked: bool) -> bytes:
        limit = self._limits.max_field_size
        if length is not None and not chunked:
            try:
                size = int(length.strip())
            except ValueError:
                raise self._refuse(_HTTP_BAD_REQUEST, f"bad Content-Length {length!r}") from None
            if size < 0:
                raise self._refuse(_HTTP_BAD_REQUEST, f"bad Content-Length {length!r}")
            if limit and size > limit:
                raise self._refuse(_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   f"a form body over {limit} bytes ({OPTION_MAX_FIELD_SIZE})")
            return req.read(size) if size else b""
        # Chunked (or no usable length): read to the end, bounded by the limit.
        parts = []
        total = 0
        while True:
            block = req.read(readBlockSize)
            if not block:
                break
            total += len(block)
            if limit and total > limit:
                raise self._refuse(_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   f"a form body over {limit} bytes ({OPTION_MAX_FIELD_SIZE})")
            parts.append(block)
        return b"".join(parts)

    def _read_multipart(self, req: Any, boundary: bytes) -> None:
        reader = _MultipartReader(req, boundary)
        # Preamble: everything up to the first delimiter is ignored.
        while True:
            line, starts = reader.readline()
            if not line:
                return
            kind = reader.boundary_kind(line) if starts else 0
            if kind == 1:
                break
            if kind == 2:
                return

        while True:
            part = self._read_part_headers(reader)
            if part is None:
                return  # body ended inside the part headers
            self._check_field_count()
            headers, raw = part
            kind = self._read_part(reader, headers, raw)
            if kind != 1:
                return  # closing delimiter or end of body

    def _read_part_headers(self, reader: _MultipartReader) -> Optional[tuple]:
        """The part's header table and a dict of lower-cased raw header values (bytes)."""
        limit = self._limits.max_part_header_size
        total = 0
        lines: list = []
        pieces: list = []
        while True:
            piece, starts = reader.readline()
            if not piece:
                return None
            if starts and reader.boundary_kind(piece):
                # The headers never ended: taking the next part's as this one's would file
                # its data under the wrong name.
                raise self._refuse(_HTTP_BAD_REQUEST, "a part whose headers run into a boundary")
            total += len(piece)
            if limit and total > limit:
                raise self._refuse(_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   f"part headers over {limit} bytes "
                                   f"({OPTION_MAX_PART_HEADER_SIZE})")
            if not reader.complete(piece):
                pieces.append(piece)
                continue
            if pieces:
                pieces.append(piece)
                piece = b"".join(pieces)
                pieces = []
            line = piece.rstrip(b"\r\n")
            if not line:
                break
            if b"\x00" in line:
                raise self._refuse(_HTTP_BAD_REQUEST, "a NUL byte in a part header")
            if line[:1] in (b" ", b"\t") and lines:
                lines[-1] = lines[-1] + b" " + line.strip()
            else:
                lines.append(line)

        table = _apache().table()
        raw: dict = {}
        for line in lines:
            name, sep, value = line.partition(b":")
            if not sep:
                continue  # tolerate a line that is not a header
            name = name.strip()
            value = value.strip()
            table.add(name.decode("latin-1"), value.decode("latin-1"))
            raw.setdefault(name.lower(), value)
        return table, raw

    def _read_part(self, reader: _MultipartReader, headers: Any, raw: dict) -> int:
        """Store one part as a field; returns how it ended (0 end of body, 1, 2 boundary)."""
        disposition, disp_options = parse_header(raw.get(b"content-disposition", b""))
        if b"content-type" in raw:
            ctype, type_options = parse_header(raw[b"content-type"])
            if b"/" not in ctype:
                ctype = b"application/octet-stream"
        else:
            ctype, type_options = b"text/plain", {}
        name = disp_options.get(b"name", "").encode("latin-1").decode("utf-8", "surrogateescape")
        # An empty filename is what a browser sends for a file input left empty: a plain
        # (empty, falsy) field, as in 3.5, so `if form.getfirst("upload"):` means a file.
        is_file = bool(disp_options.get(b"filename"))
        filename = None
        if is_file:
            filename = disp_options[b"filename"].encode("latin-1").decode(
                "utf-8", "surrogateescape")
            self._check_file_count()
            sink = self._file_callback(filename) if self._file_callback else \
                tempfile.TemporaryFile()
            limit = 0
        else:
            sink = self._field_callback() if self._field_callback else io.BytesIO()
            limit = self._memory_room()
        try:
            kind = self._copy_part_data(reader, sink, limit)
        except BaseException:
            if (self._file_callback if is_file else self._field_callback) is None:
                _close_quietly(sink)  # only what we created ourselves
            raise

        if is_file:
            field: _AnyField = Field(name)
            field.filename = filename
            field.file = sink
            _rewind(sink)
        else:
            _rewind(sink)
            try:
                value = sink.read()
            except (AttributeError, OSError, io.UnsupportedOperation):
                value = b""
            if not isinstance(value, (bytes, bytearray)):
                value = b"" if value is None else str(value).encode("utf-8", "surrogateescape")
            self._memory += len(value)
            field = StringField(value)
            field.name = name
            if self._field_callback is not None:
                field.file = sink  # the application's object, as it asked
                _rewind(sink)
            else:
                sink.close()  # StringField makes its BytesIO on first use: no second copy
            field.disp_options = disp_options
        field.type = ctype.decode("latin-1")
        field.type_options = type_options
        field.disposition = disposition.decode("latin-1")
        field.disposition_options = disp_options
        field.headers = headers
        self.list.append(field)
        return kind

    def _copy_part_data(self, reader: _MultipartReader, sink: Any, limit: int) -> int:
        """Copy a part's content to ``sink`` up to the next boundary line.

        The line ending in front of a boundary belongs to the boundary, so the ending of
        each line is held back until the next line shows it was data.  Returns 0 at the
        end of the body, 1 after a delimiter, 2 after the closing delimiter.
        """
        if reader.eof:
            return 0
        readline = reader.req.readline
        delimiter = reader.delimiter
        write = sink.write
        starts = reader.at_line_start
        pending = b""
        written = 0
        while True:
            line = readline(readBlockSize)
            if not line:
                reader.eof = True
                reader.at_line_start = starts
                return 0
            last = line[-1]
            if starts and line.startswith(delimiter):
                kind = reader.boundary_kind(line)
                if kind:
                    reader.at_line_start = last == 0x0A
                    return kind
            starts = last == 0x0A
            if pending:
                if pending == b"\r" and line == b"\n":  # CRLF split across two blocks
                    pending = b"\r\n"
                    continue
                written += len(pending)
                write(pending)
            if last == 0x0A:
                if len(line) > 1 and line[-2] == 0x0D:
                    pending = b"\r\n"
                    data = line[:-2]
                else:
                    pending = b"\n"
                    data = line[:-1]
            elif last == 0x0D:
                pending = b"\r"
                data = line[:-1]
            else:
                pending = b""
                data = line
            if data:
                written += len(data)
                write(data)
            if limit and written > limit:
                raise self._refuse(_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   f"a field over {limit} bytes ({OPTION_MAX_FIELD_SIZE} "
                                   f"or what is left of {OPTION_MAX_MEMORY_SIZE})")

    # -- dict-like API

    def add_field(self, name: Union[str, bytes], value: Union[bytes, str]) -> None:
        field = StringField(value)
        field.name = _to_name(name)
        self.list.append(field)

    def __getitem__(self, name: Union[str, bytes]) -> Any:
        found = self.list.table()[_to_name(name)]
        return found[0] if len(found) == 1 else list(found)

    def __setitem__(self, name: Union[str, bytes], value: Union[bytes, str]) -> None:
        key = _to_name(name)
        if key in self.list.table():
            del self[key]
        self.add_field(key, value)

    def __delitem__(self, name: Union[str, bytes]) -> None:
        key = _to_name(name)
        if key not in self.list.table():
            raise KeyError(name)
        self.list[:] = [item for item in self.list if item.name != key]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, (str, bytes)):
            return False
        return _to_name(name) in self.list.table()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.list.table()))

    def __len__(self) -> int:
        return len(self.list.table())

    def __repr__(self) -> str:
        return f"FieldStorage({self.list!r})"

    def get(self, name: Union[str, bytes], default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def getfirst(self, name: Union[str, bytes], default: Any = None) -> Any:
        found = self.list.table().get(_to_name(name))
        return found[0] if found else default

    def getlist(self, name: Union[str, bytes]) -> list:
        return list(self.list.table().get(_to_name(name), ()))

    def has_key(self, name: Union[str, bytes]) -> bool:
        return name in self

    def keys(self) -> list:
        return list(self.list.table())

    def items(self) -> list:
        return [(item.name, item) for item in self.list]

    def clear(self) -> None:
        self.list.clear()


def _rewind(file: Any) -> None:
    try:
        file.seek(0)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass


def _close_quietly(file: Any) -> None:
    try:
        file.close()
    except Exception:  # noqa: BLE001 - cleanup on an error path
        pass


# --------------------------------------------------------------------------- redirect

_REDIRECT_BAD = re.compile(r"[\r\n\x00]")


def redirect(req: Any, location: str, permanent: Any = 0, text: Optional[str] = None) -> None:
    """Redirect the client to ``location`` and end the request (raises SERVER_RETURN)."""
    if not isinstance(location, str):
        raise TypeError("location must be a str")
    if _REDIRECT_BAD.search(location):
        raise ValueError("redirect location must not contain CR, LF or NUL")
    if req.sent_bodyct:
        raise IOError("Cannot redirect after headers have already been sent.")
    apache = _apache()
    req.err_headers_out["Location"] = location
    req.status = apache.HTTP_MOVED_PERMANENTLY if permanent else apache.HTTP_MOVED_TEMPORARILY
    if text is None:
        req.content_type = "text/html"
        req.write('<p>The document has moved <a href="%s">here</a></p>\n'
                  % html.escape(location, quote=True))
    else:
        req.write(text)
    raise apache.SERVER_RETURN(apache.DONE)
