/* Compiled positional constructors for slots dataclasses (see records_fast.py).

constructor(cls, names, defaults) returns a callable that builds ``cls(*args)`` the way a
dataclass __init__ does for a slots class without __post_init__: it allocates the instance and
stores each argument in its slot (the member descriptors' offsets), without calling __init__ or
the descriptors. ``names`` are the fields in order; ``defaults`` holds one (value, is_factory)
pair for each trailing field that has a default (a factory is called for each new instance).
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyTypeObject *cls;
    PyObject *defaults; /* tuple of (value, is_factory) pairs */
    Py_ssize_t count;
    Py_ssize_t required;
    Py_ssize_t *offsets;
} Constructor;

static PyObject *construct(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Constructor *self = (Constructor *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0) {
        PyErr_Format(PyExc_TypeError, "%s(): positional arguments only", self->cls->tp_name);
        return NULL;
    }
    if (nargs < self->required || nargs > self->count) {
        PyErr_Format(PyExc_TypeError, "%s(): takes %zd to %zd positional arguments, %zd given", self->cls->tp_name,
                     self->required, self->count, nargs);
        return NULL;
    }
    PyObject *instance = self->cls->tp_alloc(self->cls, 0);
    if (instance == NULL) return NULL;
    for (Py_ssize_t i = 0; i < self->count; i++) {
        PyObject *value;
        if (i < nargs) {
            value = Py_NewRef(args[i]);
        } else {
            PyObject *pair = PyTuple_GET_ITEM(self->defaults, i - self->required);
            PyObject *given = PyTuple_GET_ITEM(pair, 0);
            value = PyTuple_GET_ITEM(pair, 1) == Py_True ? PyObject_CallNoArgs(given) : Py_NewRef(given);
            if (value == NULL) {
                Py_DECREF(instance);
                return NULL;
            }
        }
        Py_XSETREF(*(PyObject **)((char *)instance + self->offsets[i]), value);
    }
    return instance;
}

static void constructor_dealloc(PyObject *callable) {
    Constructor *self = (Constructor *)callable;
    PyObject_GC_UnTrack(callable);
    Py_XDECREF(self->cls);
    Py_XDECREF(self->defaults);
    PyMem_Free(self->offsets);
    PyObject_GC_Del(callable);
}

static int constructor_traverse(PyObject *callable, visitproc visit, void *arg) {
    Constructor *self = (Constructor *)callable;
    Py_VISIT(self->cls);
    Py_VISIT(self->defaults);
    return 0;
}

static PyObject *constructor_repr(PyObject *callable) {
    return PyUnicode_FromFormat("<positional constructor of %s>", ((Constructor *)callable)->cls->tp_name);
}

static PyTypeObject ConstructorType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "genai_cost.processor.domain._slots.Constructor",
    .tp_basicsize = sizeof(Constructor),
    .tp_dealloc = constructor_dealloc,
    .tp_vectorcall_offset = offsetof(Constructor, vectorcall),
    .tp_repr = constructor_repr,
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "Builds an instance of a slots class from positional arguments.",
    .tp_traverse = constructor_traverse,
};

/* The offset of the writable object slot ``name`` of ``cls``, or -1 with an exception set. */
static Py_ssize_t slot_offset(PyTypeObject *cls, PyObject *name) {
    PyObject *descriptor = PyDict_GetItemWithError(cls->tp_dict, name);
    if (descriptor == NULL) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "%s has no slot %R", cls->tp_name, name);
        return -1;
    }
    if (!Py_IS_TYPE(descriptor, &PyMemberDescr_Type)) {
        PyErr_Format(PyExc_TypeError, "%s.%U is not a slot", cls->tp_name, name);
        return -1;
    }
    PyMemberDef *member = ((PyMemberDescrObject *)descriptor)->d_member;
    if (member->type != T_OBJECT_EX || (member->flags & READONLY)) {
        PyErr_Format(PyExc_TypeError, "%s.%U is not a writable object slot", cls->tp_name, name);
        return -1;
    }
    return member->offset;
}

static PyObject *constructor(PyObject *module, PyObject *args) {
    (void)module;
    PyTypeObject *cls;
    PyObject *names, *defaults;
    if (!PyArg_ParseTuple(args, "O!O!O!:constructor", &PyType_Type, &cls, &PyTuple_Type, &names, &PyTuple_Type,
                          &defaults))
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(names), given = PyTuple_GET_SIZE(defaults);
    if (given > count) {
        PyErr_SetString(PyExc_ValueError, "more defaults than fields");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < given; i++) {
        PyObject *pair = PyTuple_GET_ITEM(defaults, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 || !PyBool_Check(PyTuple_GET_ITEM(pair, 1))) {
            PyErr_SetString(PyExc_TypeError, "defaults must be (value, is_factory) pairs");
            return NULL;
        }
    }
    Constructor *self = PyObject_GC_New(Constructor, &ConstructorType);
    if (self == NULL) return NULL;
    self->vectorcall = construct;
    self->cls = (PyTypeObject *)Py_NewRef(cls);
    self->defaults = Py_NewRef(defaults);
    self->count = count;
    self->required = count - given;
    self->offsets = PyMem_Calloc((size_t)(count ? count : 1), sizeof(Py_ssize_t));
    if (self->offsets == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        if (!PyUnicode_Check(name) || (self->offsets[i] = slot_offset(cls, name)) < 0) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "field names must be str");
            Py_DECREF(self);
            return NULL;
        }
    }
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyMethodDef METHODS[] = {
    {"constructor", constructor, METH_VARARGS,
     "constructor(cls, names, defaults) -> a positional constructor of the slots class cls"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "_slots", "Compiled positional constructors for slots dataclasses.", -1, METHODS, NULL,
    NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__slots(void) {
    if (PyType_Ready(&ConstructorType) < 0) return NULL;
    return PyModule_Create(&MODULE);
}
