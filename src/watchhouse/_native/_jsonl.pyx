# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Compiled twins of the JSON-lines reader's per-value loops (optional; see :mod:`watchhouse._native`).

Why: :func:`watchhouse.ingest.jsonl_shapes.flat_groups` flattens column by column in Python, one
call per nested object key and batch, and a nested ECS auth event (six objects) spent more there
than in parsing the JSON. Here one C loop walks each object once, as
:func:`watchhouse.ingest.jsonl.flatten` does (the specification: same names, same order, same
values), and appends its leaves to the columns of its flattened key set. Rows whose flattening
this cannot reproduce with one value per name (a dotted key colliding with a nested one:
``flatten`` keeps the first place and the last value) or that nest deeper than ``max_depth`` are
left to the caller's per-line path. ``tests/ingest/test_native_jsonl.py`` holds the groups to
``flatten`` and to the Python column flattening, on generated and real events.

Smaller loops sit beside it, each the twin of a line of Python in :mod:`~watchhouse.ingest.jsonl`
and :mod:`~watchhouse.ingest.jsonl_convert` that the same tests hold it to: :func:`gather` puts a
field's values of several key sets into line order (``chain`` then a take), :func:`strict_stamps`
checks a column of timestamp texts against the strict RFC 3339 pattern (a regular expression over
an Arrow array, which cost more than casting the texts), and :func:`value_types` is the set of a
column's value types (a set insert per value where a pointer compare does).
"""

from cpython.dict cimport PyDict_GetItemWithError, PyDict_Next
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport Py_TYPE
from cpython.ref cimport PyObject
from cpython.unicode cimport PyUnicode_GET_LENGTH, PyUnicode_READ_CHAR
from libc.stdint cimport int64_t


cdef extern from "Python.h":
    # (declared here with a C pointer: NULL as the new items deletes the slice)
    int _delete_slice "PyList_SetSlice"(object items, Py_ssize_t low, Py_ssize_t high, PyObject* new) except -1
    const Py_ssize_t PY_SSIZE_T_MAX

#: sha256 of this file and the shared .pxd declarations when it was compiled (setup.py passes it):
#: the loader refuses a build that no longer matches its source (an editable checkout pulled new
#: code without rebuilding)
SOURCE_SHA256 = BUILT_FROM_SHA256


cdef class _Walk:
    """One batch's state: the names met so far and the key sets found, in order of first row."""

    cdef frozenset object_fields
    cdef int max_depth
    cdef dict children  # parent name -> {key: "parent.key"}: names are built once per batch
    cdef list names
    cdef list values
    cdef dict groups  # flattened names -> [rows, columns], or None where names collide
    cdef list order  # the names tuples of the kept groups, by first row
    cdef tuple last_shape  # the key set of the last row filed, and its group: neighbours share it
    cdef list last_group

    def __init__(self, frozenset object_fields, int max_depth):
        self.object_fields = object_fields
        self.max_depth = max_depth
        self.children = {}
        self.names = []
        self.values = []
        self.groups = {}
        self.order = []
        self.last_shape = ()
        self.last_group = None

    cdef bint walk(self, dict obj, object prefix, int depth) except -1:
        """Append ``obj``'s flattened leaves to names and values; False where it nests too deep."""
        cdef Py_ssize_t pos = 0
        cdef PyObject* key
        cdef PyObject* value
        cdef PyObject* known
        cdef dict named = None
        cdef object name
        if prefix is not None:
            known = PyDict_GetItemWithError(self.children, prefix)
            if known is NULL:
                named = {}
                self.children[prefix] = named
            else:
                named = <dict>known
        while PyDict_Next(obj, &pos, &key, &value):
            if named is None:
                name = <object>key
            else:
                known = PyDict_GetItemWithError(named, <object>key)
                if known is NULL:
                    name = prefix + "." + <object>key
                    named[<object>key] = name
                else:
                    name = <object>known
            if type(<object>value) is dict and len(<dict>value) and name not in self.object_fields:
                if depth >= self.max_depth or not self.walk(<dict>value, name, depth + 1):
                    return False
            else:
                self.names.append(name)
                self.values.append(<object>value)
        return True

    cdef bint same_as_last(self):
        """Whether the walked names are the last row's, object for object (names are shared)."""
        cdef Py_ssize_t i
        cdef Py_ssize_t count = PyList_GET_SIZE(self.names)
        if count != len(self.last_shape):
            return False
        for i in range(count):
            if PyList_GET_ITEM(self.names, i) is not <PyObject*>self.last_shape[i]:
                return False
        return True

    cdef bint add(self, Py_ssize_t row) except -1:
        """File the walked row under its key set; False where its names collide."""
        cdef tuple shape
        cdef PyObject* known
        cdef list group
        cdef list columns
        cdef Py_ssize_t i
        if self.last_group is not None and self.same_as_last():
            group = self.last_group
        else:
            shape = tuple(self.names)
            known = PyDict_GetItemWithError(self.groups, shape)
            if known is NULL:
                if len(set(shape)) < len(shape):
                    self.groups[shape] = None
                    return False
                group = [[], [[] for _ in range(len(shape))]]
                self.groups[shape] = group
                self.order.append(shape)
            elif <object>known is None:
                return False
            else:
                group = <list>known
            self.last_shape = shape
            self.last_group = group
        (<list>group[0]).append(row)
        columns = <list>group[1]
        for i in range(PyList_GET_SIZE(self.values)):
            (<list>PyList_GET_ITEM(columns, i)).append(<object>PyList_GET_ITEM(self.values, i))
        return True


def flat_groups(list objects not None, frozenset object_fields not None, int max_depth):
    """Group ``objects`` by flattened key set: ``([(rows, names, columns), ...], unsure)``.

    Groups come in order of first row, each row list ascending; ``unsure`` (ascending) holds the
    rows that are not dicts, whose names collide or that nest deeper than ``max_depth`` levels.
    """
    cdef _Walk state = _Walk(object_fields, max_depth)
    cdef list unsure = []
    cdef Py_ssize_t row
    cdef object obj
    for row in range(PyList_GET_SIZE(objects)):
        obj = <object>PyList_GET_ITEM(objects, row)
        _delete_slice(state.names, 0, PY_SSIZE_T_MAX, NULL)
        _delete_slice(state.values, 0, PY_SSIZE_T_MAX, NULL)
        if type(obj) is not dict or not (state.walk(<dict>obj, None, 0) and state.add(row)):
            unsure.append(row)
    found = []
    for shape in state.order:
        group = state.groups[shape]
        found.append((group[0], shape, group[1]))
    return found, unsure


def gather(list sources not None, int64_t[::1] owner, int64_t[::1] at):
    """``[sources[owner[k]][at[k]] for k ...]``, None where ``sources[owner[k]]`` is None (a key set
    without the field): one field's values of several key sets, in line order."""
    cdef Py_ssize_t count = owner.shape[0]
    cdef Py_ssize_t k
    cdef Py_ssize_t parts = PyList_GET_SIZE(sources)
    cdef object source
    cdef object value
    if at.shape[0] != count:
        raise ValueError("owner and at differ in length")
    cdef list out = [None] * count
    for k in range(count):
        if owner[k] < 0 or owner[k] >= parts:
            raise IndexError("owner out of range")
        source = <object>PyList_GET_ITEM(sources, owner[k])
        if source is None:
            continue
        if type(source) is list:
            if at[k] < 0 or at[k] >= PyList_GET_SIZE(<list>source):
                raise IndexError("at out of range")
            value = <object>PyList_GET_ITEM(<list>source, at[k])
        else:  # another sequence: its own indexing
            value = source[at[k]]
        out[k] = value
    return out


cdef inline bint _digit(Py_UCS4 c) noexcept:
    return c >= 48 and c <= 57  # "0" to "9"


cdef inline bint _hour(str text, Py_ssize_t i) noexcept:
    """(?:[01][0-9]|2[0-3]) at ``i``."""
    cdef Py_UCS4 tens = PyUnicode_READ_CHAR(text, i)
    cdef Py_UCS4 ones = PyUnicode_READ_CHAR(text, i + 1)
    return ((tens == 48 or tens == 49) and _digit(ones)) or (tens == 50 and ones >= 48 and ones <= 51)


cdef inline bint _sixty(str text, Py_ssize_t i) noexcept:
    """[0-5][0-9] at ``i``."""
    cdef Py_UCS4 tens = PyUnicode_READ_CHAR(text, i)
    return tens >= 48 and tens <= 53 and _digit(PyUnicode_READ_CHAR(text, i + 1))


cdef bint _strict(str text) noexcept:
    """``text`` matches jsonl_convert._STRICT_STAMP (whole text, ASCII digits)."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    cdef Py_ssize_t i
    cdef Py_UCS4 c
    if n < 20:
        return False
    c = PyUnicode_READ_CHAR(text, 0)
    if not (c >= 49 and c <= 57):  # [1-9]
        return False
    for i in (1, 2, 3, 5, 6, 8, 9):
        if not _digit(PyUnicode_READ_CHAR(text, i)):
            return False
    if (
        PyUnicode_READ_CHAR(text, 4) != 45  # "-"
        or PyUnicode_READ_CHAR(text, 7) != 45
        or PyUnicode_READ_CHAR(text, 10) != 84  # "T"
        or not _hour(text, 11)
        or PyUnicode_READ_CHAR(text, 13) != 58  # ":"
        or not _sixty(text, 14)
        or PyUnicode_READ_CHAR(text, 16) != 58
        or not _sixty(text, 17)
    ):
        return False
    i = 19
    if PyUnicode_READ_CHAR(text, i) == 46:  # "." then 1 to 6 digits
        i += 1
        while i < n and i < 26 and _digit(PyUnicode_READ_CHAR(text, i)):
            i += 1
        if i == 20 or i >= n:
            return False
    c = PyUnicode_READ_CHAR(text, i)
    if c == 90:  # "Z"
        return i + 1 == n
    if c != 43 and c != 45:  # "+" or "-"
        return False
    return (
        i + 6 == n and _hour(text, i + 1) and PyUnicode_READ_CHAR(text, i + 3) == 58 and _sixty(text, i + 4)
    )


def strict_stamps(list values not None):
    """Whether every value is a text in the strict RFC 3339 form Arrow may cast (and one at least)."""
    cdef Py_ssize_t k
    cdef object value
    if not PyList_GET_SIZE(values):
        return False
    for k in range(PyList_GET_SIZE(values)):
        value = <object>PyList_GET_ITEM(values, k)
        if type(value) is not str or not _strict(<str>value):
            return False
    return True


def value_types(list values not None):
    """``set(map(type, values))``: a column seldom changes type, so only a change is looked up."""
    cdef set kinds = set()
    cdef PyObject* last = NULL
    cdef PyObject* kind
    cdef Py_ssize_t k
    for k in range(PyList_GET_SIZE(values)):
        kind = <PyObject*>Py_TYPE(<object>PyList_GET_ITEM(values, k))
        if kind is not last:
            kinds.add(<object>kind)
            last = kind
    return kinds
