"""One writer per run directory: an exclusive lock held for the whole of training.

``fit`` takes the lock of its run directory before it reads or writes anything
there, and lets it go when it returns or raises, so two ``kcc train`` on one
``--run-dir`` (or a ``--resume`` while the run still trains) cannot overwrite
each other: the second is refused with ``RunDirectoryInUse``, naming the run
directory and the process that holds it.

The lock is the file ``run.lock`` in the run directory, holding the owner's pid,
host and start time as JSON, with a ``fcntl.flock`` on it. The kernel lets an
flock go when its process dies however it dies (SIGKILL included), so a crashed
run never blocks its own ``--resume``: the file it left names a process that no
longer holds the lock, and the next writer takes the lock over and says so. A
clean release removes the file; a writer that opened the file just before it
was removed notices (the path no longer names the file it locked) and tries
again.
"""

import errno
import fcntl
import json
import os
import socket
import time

LOCK_FILE = "run.lock"


class RunDirectoryInUse(BlockingIOError):
    """Another process holds the lock of the run directory (``run_dir``, ``owner``)."""

    def __init__(self, run_dir, owner):
        self.run_dir, self.owner = run_dir, owner
        super().__init__(errno.EWOULDBLOCK, f"run directory {run_dir!r} is in use: {describe_owner(owner)} holds its "
                                            f"lock ({os.path.join(run_dir, LOCK_FILE)}); wait for it to finish, "
                                            "or train in another run directory")

    def __str__(self):
        return self.strerror


def describe_owner(owner):
    """'process 123 on host h (since 2024-01-01 12:00:00)', from a lock file's JSON."""
    if not owner:
        return "another process (not yet recorded)"
    since = f" (since {owner['started']})" if owner.get("started") else ""
    return f"process {owner.get('pid')} on host {owner.get('host')}{since}"


class RunDirectoryLock:
    """The held lock of a run directory; ``release()`` lets it go (idempotent)."""

    def __init__(self, run_dir, fd, path):
        self.run_dir, self._fd, self.path = run_dir, fd, path

    def release(self):
        """Remove the lock file, then let the flock go."""
        if self._fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.release()


def acquire(run_dir, announce=print):
    """Lock ``run_dir`` (which must exist) for this process; a lock file left by a
    process that died is taken over, with a line through ``announce``. Raises
    ``RunDirectoryInUse`` when a live process holds it."""
    path = os.path.join(run_dir, LOCK_FILE)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(fd)
            os.close(fd)
            raise RunDirectoryInUse(run_dir, owner) from None
        except BaseException:
            os.close(fd)
            raise
        if _names_locked_file(path, fd):
            break
        os.close(fd)  # its holder removed it between our open and our lock: lock the new one
    previous = _read_owner(fd)
    if previous:
        announce(f"taking over the lock of {run_dir!r} from {describe_owner(previous)}, "
                 f"which {_gone(previous)}")
    _write_owner(fd)
    return RunDirectoryLock(run_dir, fd, path)


def _names_locked_file(path, fd):
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _gone(owner):
    """Why a recorded owner no longer holds the lock, as far as this host can tell."""
    if owner.get("host") == socket.gethostname() and not pid_alive(owner.get("pid")):
        return "is no longer running (crashed or killed)"
    return "no longer holds it (crashed or killed)"


def pid_alive(pid):
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def _read_owner(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode("utf-8", "replace")
    try:
        owner = json.loads(text)
    except ValueError:
        return None
    return owner if isinstance(owner, dict) else None


def _write_owner(fd):
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, (json.dumps(owner) + "\n").encode())
    os.fsync(fd)
