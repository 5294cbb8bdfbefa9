"""Files kept in storage beside their rows (certificates, pre-work, SEU evidence). Storage is not part
of the database's transaction, so a service says when a file goes: never is one left on disk with no
row pointing to it, and never does a row point to a file already gone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.db.models.fields.files import FieldFile


@contextmanager
def undone_on_error(field_file: FieldFile) -> Iterator[None]:
    """A new upload is written to storage when its row is saved; if the block raises after that (the
    database refused the row, or something later in the same transaction failed), the row is rolled
    back, so the file is deleted again."""
    new = bool(field_file) and not field_file._committed
    try:
        yield
    except BaseException:
        if new and field_file._committed:
            field_file.storage.delete(field_file.name)
        raise


def delete_on_commit(storage, name: str) -> None:
    """The file ``name`` goes once the change that drops or replaces its row commits (not before: a
    rollback keeps the row, and the row its file)."""
    if name:
        transaction.on_commit(lambda: storage.delete(name))
