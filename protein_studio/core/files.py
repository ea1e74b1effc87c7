"""User files: reading one with a clear message for each way it can be wrong, writing one atomically.

Every reader in ``core`` (FASTA, structures, DMS tables) starts here, so a missing file, a folder, a
binary file or a non-UTF-8 text file is reported the same way everywhere, naming the file (and the line
for undecodable bytes).
"""

from __future__ import annotations

import contextlib
import contextvars
import glob
import os
import tempfile
from collections.abc import Callable, Iterator
from os import PathLike
from pathlib import Path

from protein_studio.core.errors import InputError, UserError

__all__ = ["read_input_bytes", "looks_binary", "decode_text", "read_input_text", "write_text_atomically",
           "write_bytes_atomically", "refuse_special_target", "make_output_folder", "describe_path", "gunzip_limited", "max_input_bytes", "printable",
           "reading_progress"]

#: Bytes read between two calls of the :func:`reading_progress` callback.
READ_CHUNK = 4 * 1024 * 1024

_read_callback: contextvars.ContextVar[Callable[[str, int, int], None] | None] = contextvars.ContextVar(
    "read_callback", default=None)


@contextlib.contextmanager
def reading_progress(callback: Callable[[str, int, int], None]) -> Iterator[None]:
    """Within the block, :func:`read_input_bytes` calls ``callback(file name, bytes read, file size)`` every
    :data:`READ_CHUNK` bytes (in this thread or context only). The callback may raise to stop the reading
    (the window's Cancel does), and the exception reaches the caller of the reader."""
    token = _read_callback.set(callback)
    try:
        yield
    finally:
        _read_callback.reset(token)


#: Largest input file (or decompressed input) read, in MB; ``PROTEIN_STUDIO_MAX_INPUT_MB`` overrides it.
DEFAULT_MAX_INPUT_MB = 256


def max_input_bytes() -> int:
    """The input size cap in bytes (:data:`DEFAULT_MAX_INPUT_MB`, or ``$PROTEIN_STUDIO_MAX_INPUT_MB``)."""
    try:
        megabytes = float(os.environ.get("PROTEIN_STUDIO_MAX_INPUT_MB", DEFAULT_MAX_INPUT_MB))
    except ValueError:
        megabytes = DEFAULT_MAX_INPUT_MB
    return int(max(megabytes, 0.001) * 1024 * 1024)


def describe_path(path: str | PathLike) -> str | None:
    """What ``path`` is when it is not a regular file to read: ``"does not exist"``, ``"is a folder"``,
    ``"is a named pipe (FIFO)"``, ``"is a device"``, ``"is a socket"`` (a symbolic link is judged by what it
    points to, and says so); None for a regular file."""
    import stat as stat_module

    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "is a broken link" if path.is_symlink() else "does not exist"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    mode = info.st_mode
    if stat_module.S_ISREG(mode):
        return None
    link = f" (a link to {os.path.realpath(path)})" if path.is_symlink() else ""
    if stat_module.S_ISDIR(mode):
        return "is a folder" + link
    if stat_module.S_ISFIFO(mode):
        return "is a named pipe (FIFO)" + link
    if stat_module.S_ISCHR(mode) or stat_module.S_ISBLK(mode):
        return "is a device" + link
    if stat_module.S_ISSOCK(mode):
        return "is a socket" + link
    return "is not a regular file" + link


def read_input_bytes(path: str | PathLike, what: str) -> bytes:
    """Read ``path`` whole; ``what`` names the expected content ("a FASTA file") for messages.

    Only regular files are read (a FIFO would block, a device never end), and at most
    :func:`max_input_bytes`.

    Raises
    ------
    InputError
        The file does not exist, is a folder, pipe, device or socket, is over the size cap, or cannot be read.
    """
    path = Path(path)
    problem = describe_path(path)
    if problem == "does not exist":
        raise InputError("file not found", source=str(path))
    if problem is not None:
        raise InputError(f"{problem}, not {what}", source=str(path))
    limit = max_input_bytes()
    callback = _read_callback.get()
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            # read what the file holds (read(limit) would allocate the whole limit up front); a file growing
            # while it is read is still stopped at the limit
            if callback is None:
                data = handle.read(min(size, limit) + 1)
            else:
                data = _read_reporting(handle, min(size, limit) + 1, path.name, size, callback)
            if len(data) > size and len(data) <= limit:
                data += handle.read(limit + 1 - len(data))
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", source=str(path)) from None
    if len(data) > limit:
        raise InputError(f"is larger than {limit // (1024 * 1024)} MB, the input limit (raise it with "
                         f"PROTEIN_STUDIO_MAX_INPUT_MB)", source=str(path))
    return data


def _read_reporting(handle, count: int, name: str, size: int, callback) -> bytes:
    chunks = []
    done = 0
    callback(name, 0, size)
    while done < count:
        chunk = handle.read(min(READ_CHUNK, count - done))
        if not chunk:
            break
        chunks.append(chunk)
        done += len(chunk)
        callback(name, done, size)
    return b"".join(chunks)


def gunzip_limited(data: bytes, source: str) -> bytes:
    """Decompress gzip data, refusing a file that is damaged or that expands past :func:`max_input_bytes`.
    The output is made in chunks of :data:`READ_CHUNK` and counted as it grows: a small file that
    decompresses to gigabytes is refused holding at most the limit, never more."""
    import zlib

    limit = max_input_bytes()
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    chunks: list[bytes] = []
    size = 0
    pending = data
    try:
        while True:
            chunk = decompressor.decompress(pending, READ_CHUNK)
            pending = decompressor.unconsumed_tail
            size += len(chunk)
            if size > limit:
                raise InputError(f"decompresses to more than {limit // (1024 * 1024)} MB, the input limit (raise it "
                                 f"with PROTEIN_STUDIO_MAX_INPUT_MB)", source=source)
            chunks.append(chunk)
            if not pending and (not chunk or decompressor.eof):
                break
        tail = decompressor.flush()
        if size + len(tail) > limit:
            raise InputError(f"decompresses to more than {limit // (1024 * 1024)} MB, the input limit (raise it with "
                             f"PROTEIN_STUDIO_MAX_INPUT_MB)", source=source)
        chunks.append(tail)
    except zlib.error as exc:
        raise InputError(f"not a valid gzip file: damaged or truncated ({exc})", source=source) from None
    if not decompressor.eof:
        raise InputError("not a valid gzip file: truncated", source=source)
    return b"".join(chunks)


def looks_binary(data: bytes) -> bool:
    """NUL bytes, or more than 5 % control characters, in the first 8 kB: not a text file."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    control = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return control > len(head) * 0.05


def decode_text(data: bytes, source: str, what: str) -> str:
    """Decode UTF-8 text (a byte-order mark is dropped).

    Raises
    ------
    InputError
        Binary data ("binary data, not <what>"), or bytes that are not UTF-8 (naming the line).
    """
    if looks_binary(data):
        raise InputError(f"binary data, not {what}", source=source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", source=source, line=line) from None


def file_sha256(path: str | PathLike, each_block=None) -> str:
    """The SHA-256 (hex) of a file, read in 1 MB blocks; ``each_block()`` is called after each (a cancel point)."""
    import hashlib

    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
            if each_block is not None:
                each_block()
    return hasher.hexdigest()


def read_input_text(path: str | PathLike, what: str) -> str:
    """:func:`read_input_bytes` then :func:`decode_text`."""
    return decode_text(read_input_bytes(path, what), str(path), what)


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` would, for every thread at once)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def write_text_atomically(path: str | PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder and ``os.replace``.

    A failure leaves any existing file untouched and no temporary file behind. A new file gets the
    usual permissions (``0o666`` less the umask); a replaced one keeps its own.

    Raises
    ------
    UserError
        The folder does not exist or the file cannot be written (message names the path).
    """
    return write_bytes_atomically(path, text.encode("utf-8"))


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files of earlier writes to ``path`` whose process was killed before it could rename or
    remove them (``.NAME.PID.XXXX.tmp``): removed when that process no longer runs."""
    try:
        candidates = list(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))
    except OSError:
        return
    for candidate in candidates:
        parts = candidate.name[len(path.name) + 2:].split(".")
        if len(parts) < 3 or not parts[0].isdigit():
            continue
        pid = int(parts[0])
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # still running: its write may be under way
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        try:
            candidate.unlink()
        except OSError:
            pass


def refuse_special_target(path: str | PathLike) -> None:
    """Refuse to write onto anything but a regular file or a new name: a rename over a device (``/dev/null``),
    a named pipe or a socket would replace it, and one over a symbolic link would replace the link (a link
    planted in a shared folder must not redirect the write either).

    Raises
    ------
    UserError
        Naming the path and what it is.
    """
    import stat as stat_module

    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat_module.S_ISREG(info.st_mode):
        return
    if stat_module.S_ISLNK(info.st_mode):
        raise UserError(f"cannot write {path}: it is a symbolic link (to {os.readlink(path)}); it is not replaced "
                        f"or followed: write to the file itself or choose another name")
    what = describe_path(path) or "is not a regular file"
    raise UserError(f"cannot write {path}: it {what.removeprefix('is ')}, not a file; it is not replaced: choose a "
                    f"file name")


def make_output_folder(path: str | PathLike, option: str = "--out") -> Path:
    """A folder outputs are written into, made when missing.

    Raises
    ------
    UserError
        A file, pipe, device or link to one is there, or the folder cannot be made or written (said before
        any work, naming the option and the path).
    """
    path = Path(path)
    problem = describe_path(path)
    if problem == "is a folder":
        pass
    elif problem == "does not exist":
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"{option} {path}: cannot make the folder ({exc.strerror or exc})") from None
    elif problem is None:
        raise UserError(f"{option} {path}: a file is there; give a folder for the outputs")
    else:
        raise UserError(f"{option} {path}: it {problem.removeprefix('is ')}; give a folder for the outputs")
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"{option} {path}: the folder cannot be written")
    return path


def write_bytes_atomically(path: str | PathLike, data: bytes) -> Path:
    """:func:`write_text_atomically` for bytes (images, BinaryCIF): every file the application writes goes
    through here. A write killed before its rename leaves ``.NAME.PID.XXXX.tmp``; the next write to the same
    file removes it once that process is gone."""
    path = Path(path)
    refuse_special_target(path)
    _remove_stale_temporaries(path)
    try:
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def printable(text: object) -> str:
    """``text`` with control characters (terminal escape sequences, bells, carriage returns) shown as ``?``:
    what the command line echoes from files never rewrites the terminal."""
    return "".join(c if c.isprintable() or c in "\n\t" else "?" for c in str(text))
