/* Compiled RecentResponses (see recent_responses.py, whose Python class is the reference).

Response-key hashes (64-bit ints) -> ledger row ids, in one open-addressing table (linear probing,
at most a third full) plus a ring of the adds in order. As in the Python class, a generation is
complete when it holds ceil(window / GENERATIONS) distinct keys; when one completes and
GENERATIONS full ones are kept already, the oldest generation's adds leave the ring and their keys
leave the table unless a later add replaced their row. Row ids must grow from add to add (the
ledger's do), which is how a key's latest add is known to be in the current generation. Look-ups
answer exactly as the Python class (a dict per generation) does, with one probe sequence instead
of up to five dict look-ups.
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define GENERATIONS 4

typedef struct {
    uint64_t key;
    int64_t row; /* 0: empty slot (row ids start at 1) */
} Slot;

typedef struct {
    PyObject_HEAD
    Py_ssize_t window, generation_size;
    Slot *table; /* open addressing; ``entries`` keys */
    uint64_t mask;
    Py_ssize_t entries;
    Slot *ring; /* every add, oldest first from ring_head */
    Py_ssize_t ring_capacity, ring_head, ring_count;
    Py_ssize_t generation_adds[GENERATIONS + 2]; /* ring entries per generation, by number % (G + 2) */
    uint64_t generation;                        /* the number of the generation being filled */
    Py_ssize_t full_generations, in_current;    /* complete ones kept; distinct keys in the current one */
    int64_t current_first_row, last_row;        /* 0: the current generation is empty / nothing added */
} Recent;

static uint64_t mix(uint64_t key) {
    key ^= key >> 33;
    key *= 0xFF51AFD7ED558CCDu;
    key ^= key >> 33;
    return key;
}

static Slot *find(Recent *self, uint64_t key) {
    uint64_t at = mix(key) & self->mask;
    while (self->table[at].row != 0 && self->table[at].key != key) at = (at + 1) & self->mask;
    return &self->table[at];
}

/* Backward-shift deletion: no tombstones, so probe sequences stay short. */
static void delete_slot(Recent *self, Slot *slot) {
    uint64_t hole = (uint64_t)(slot - self->table), at = hole;
    for (;;) {
        at = (at + 1) & self->mask;
        if (self->table[at].row == 0) break;
        uint64_t home = mix(self->table[at].key) & self->mask;
        /* Move the entry into the hole unless its home lies cyclically in (hole, at]. */
        if (((at - home) & self->mask) >= ((at - hole) & self->mask)) {
            self->table[hole] = self->table[at];
            hole = at;
        }
    }
    self->table[hole].row = 0;
    self->entries--;
}

static int recent_init(PyObject *obj, PyObject *args, PyObject *kwds) {
    Recent *self = (Recent *)obj;
    static char *names[] = {"window", NULL};
    Py_ssize_t window = 500000;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|n:RecentResponses", names, &window)) return -1;
    if (window < 1) {
        PyErr_Format(PyExc_ValueError, "response window must be >= 1 call, got %zd", window);
        return -1;
    }
    if (self->table != NULL) {
        PyErr_SetString(PyExc_TypeError, "RecentResponses is initialised once");
        return -1;
    }
    self->window = window;
    self->generation_size = (window + GENERATIONS - 1) / GENERATIONS;
    self->ring_capacity = self->generation_size * (GENERATIONS + 1) + 1;
    uint64_t slots = 8;
    while (slots < (uint64_t)self->ring_capacity * 3) slots <<= 1;
    self->table = PyMem_Calloc((size_t)slots, sizeof(Slot));
    self->ring = PyMem_Calloc((size_t)self->ring_capacity, sizeof(Slot));
    if (self->table == NULL || self->ring == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    self->mask = slots - 1;
    return 0;
}

static void recent_dealloc(PyObject *obj) {
    Recent *self = (Recent *)obj;
    PyMem_Free(self->table);
    PyMem_Free(self->ring);
    Py_TYPE(obj)->tp_free(obj);
}

static int key_of(PyObject *arg, uint64_t *key) {
    int overflow;
    long long value = PyLong_AsLongLongAndOverflow(arg, &overflow);
    if (overflow || (value == -1 && PyErr_Occurred())) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_OverflowError, "response keys are 64-bit hashes");
        return -1;
    }
    *key = (uint64_t)value;
    return 0;
}

static PyObject *recent_get(PyObject *obj, PyObject *arg) {
    Recent *self = (Recent *)obj;
    uint64_t key;
    if (key_of(arg, &key) < 0) return NULL;
    Slot *slot = find(self, key);
    if (slot->row == 0) Py_RETURN_NONE;
    return PyLong_FromLongLong(slot->row);
}

/* Room for one more add in the ring (it grows when a generation holds repeated keys). */
static int ring_reserve(Recent *self) {
    if (self->ring_count < self->ring_capacity) return 0;
    Py_ssize_t capacity = self->ring_capacity * 2;
    Slot *ring = PyMem_Calloc((size_t)capacity, sizeof(Slot));
    if (ring == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < self->ring_count; i++) ring[i] = self->ring[(self->ring_head + i) % self->ring_capacity];
    PyMem_Free(self->ring);
    self->ring = ring;
    self->ring_capacity = capacity;
    self->ring_head = 0;
    return 0;
}

static void drop_generation(Recent *self, uint64_t number) {
    Py_ssize_t *adds = &self->generation_adds[number % (GENERATIONS + 2)];
    for (Py_ssize_t i = 0; i < *adds; i++) {
        Slot *old = &self->ring[self->ring_head];
        Slot *slot = find(self, old->key);
        if (slot->row == old->row) delete_slot(self, slot); /* not added again since */
        self->ring_head = (self->ring_head + 1) % self->ring_capacity;
    }
    self->ring_count -= *adds;
    *adds = 0;
}

static PyObject *recent_add(PyObject *obj, PyObject *const *args, Py_ssize_t nargs) {
    Recent *self = (Recent *)obj;
    uint64_t key;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "add(key, row_id)");
        return NULL;
    }
    if (key_of(args[0], &key) < 0) return NULL;
    long long row = PyLong_AsLongLong(args[1]);
    if (row == -1 && PyErr_Occurred()) return NULL;
    if (row <= self->last_row) {
        PyErr_Format(PyExc_ValueError, "row ids must grow: %lld after %lld", row, (long long)self->last_row);
        return NULL;
    }
    if (ring_reserve(self) < 0) return NULL;
    Slot *slot = find(self, key);
    int in_current = slot->row != 0 && self->current_first_row != 0 && slot->row >= self->current_first_row;
    if (slot->row == 0) {
        slot->key = key;
        self->entries++;
    }
    slot->row = row;
    self->last_row = row;
    Slot *added = &self->ring[(self->ring_head + self->ring_count) % self->ring_capacity];
    added->key = key;
    added->row = row;
    self->ring_count++;
    self->generation_adds[self->generation % (GENERATIONS + 2)]++;
    if (self->current_first_row == 0) self->current_first_row = row;
    if (!in_current && ++self->in_current >= self->generation_size) { /* the generation is complete */
        self->generation++;
        self->generation_adds[self->generation % (GENERATIONS + 2)] = 0;
        self->in_current = 0;
        self->current_first_row = 0;
        if (++self->full_generations > GENERATIONS) { /* the oldest one goes */
            drop_generation(self, self->generation - 1 - GENERATIONS);
            self->full_generations = GENERATIONS;
        }
    }
    Py_RETURN_NONE;
}

static Py_ssize_t recent_len(PyObject *obj) { return ((Recent *)obj)->entries; }

static PyObject *recent_window(PyObject *obj, void *closure) {
    (void)closure;
    return PyLong_FromSsize_t(((Recent *)obj)->window);
}

static PyMethodDef RECENT_METHODS[] = {
    {"get", recent_get, METH_O, "The row id last recorded under key, if it is still remembered."},
    {"add", (PyCFunction)(void (*)(void))recent_add, METH_FASTCALL, "Remember a recorded call (key, row id)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef RECENT_GETSET[] = {
    {"window", recent_window, NULL, "Recorded calls remembered at least.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods RECENT_SEQUENCE = {.sq_length = recent_len};

static PyTypeObject RecentType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "genai_cost.processor.adapters.ledger._recent.RecentResponses",
    .tp_basicsize = sizeof(Recent),
    .tp_dealloc = recent_dealloc,
    .tp_as_sequence = &RECENT_SEQUENCE,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Response-id hashes of recently recorded calls -> their row ids (one writer thread).",
    .tp_methods = RECENT_METHODS,
    .tp_getset = RECENT_GETSET,
    .tp_init = recent_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "_recent", "Compiled RecentResponses.", -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__recent(void) {
    if (PyType_Ready(&RecentType) < 0) return NULL;
    PyObject *module = PyModule_Create(&MODULE);
    if (module == NULL) return NULL;
    if (PyModule_AddIntConstant(module, "GENERATIONS", GENERATIONS) < 0 ||
        PyModule_AddObjectRef(module, "RecentResponses", (PyObject *)&RecentType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
