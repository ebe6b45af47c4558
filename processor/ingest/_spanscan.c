/* Compiled fast path of ingest/protobuf.py: an OTLP ExportTraceServiceRequest -> SpanViews.

scan(body, markers, wanted, value_of, block_info, make_view) walks the request once, finds the
spans whose bytes contain one of ``markers`` (the candidates, as protobuf._find_candidates does),
validates each candidate as Span.FromString would (wire structure, UTF-8 of every string field,
recursively), converts its ``wanted`` attributes to Python values and calls
``make_view(trace_id, span_id, parent_span_id, start, end, status_code, attributes, scope_name,
scope_version, resource)``. ``block_info(resource_start, resource_end, scope_start, scope_end)``
(-1 when absent) gives ``(scope_name, scope_version, resource)`` once per ScopeSpans with
candidates; ``value_of(raw)`` converts the attribute values that are arrays or key-value lists.

It returns ``(spans_received, views)``, or None for any payload that is not plain and valid:
damage, unknown or repeated fields where the Python path would merge them, invalid UTF-8, ids of
the wrong length, deep nesting. The caller then decodes the payload with the Python path, which
gives the same result or the precise error, so this module never decides anything on its own.
*/
#define _GNU_SOURCE /* memmem */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fixed64 fields are read as little-endian host values"
#endif

#define OK 0
#define FALLBACK 1 /* not a plain payload: the Python path decodes it */
#define FAILED -1  /* a Python exception is set */
#define MAX_DEPTH 16

enum { VARINT = 0, I64 = 1, LEN = 2, I32 = 5 };

typedef struct {
    uint32_t number;
    int wire_type;
    uint64_t value;     /* VARINT */
    Py_ssize_t start;   /* LEN, I64, I32: first byte of the value */
    Py_ssize_t end;     /* LEN: one past the last byte */
} Field;

typedef struct CacheEntry CacheEntry;

typedef struct {
    const uint8_t *buf;
    PyObject *wanted;
    PyObject *value_of;
    CacheEntry *key_cache; /* NULL: no cache (a mutable wanted set) */
} Scan;

static inline int read_varint(const uint8_t *buf, Py_ssize_t *pos, Py_ssize_t end, uint64_t *out) {
    uint64_t result = 0;
    Py_ssize_t p = *pos;
    if (p < end && buf[p] < 0x80) { /* the usual one-byte tag or length */
        *out = buf[p];
        *pos = p + 1;
        return OK;
    }
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
        uint8_t byte = buf[p++];
        if (shift == 63 && byte > 1) {
            return FALLBACK;
        }
        result |= (uint64_t)(byte & 0x7F) << shift;
        if (byte < 0x80) {
            *pos = p;
            *out = result;
            return OK;
        }
    }
    return FALLBACK;
}

/* The field at *pos (its value range or varint); FALLBACK for truncation or an unusual wire type. */
static inline int next_field(const uint8_t *buf, Py_ssize_t *pos, Py_ssize_t end, Field *field) {
    uint64_t tag, length;
    if (read_varint(buf, pos, end, &tag) != OK || (tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF) {
        return FALLBACK;
    }
    field->number = (uint32_t)(tag >> 3);
    field->wire_type = (int)(tag & 7);
    switch (field->wire_type) {
    case VARINT:
        return read_varint(buf, pos, end, &field->value);
    case I64:
        if (end - *pos < 8) return FALLBACK;
        field->start = *pos;
        *pos += 8;
        return OK;
    case I32:
        if (end - *pos < 4) return FALLBACK;
        field->start = *pos;
        *pos += 4;
        return OK;
    case LEN:
        if (read_varint(buf, pos, end, &length) != OK || length > (uint64_t)(end - *pos)) return FALLBACK;
        field->start = *pos;
        field->end = *pos + (Py_ssize_t)length;
        *pos = field->end;
        return OK;
    default:
        return FALLBACK; /* groups */
    }
}

/* Well-formed UTF-8 (no overlong forms, surrogates or values above U+10FFFF), as protobuf checks. */
static int utf8_valid(const uint8_t *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            while (i + 8 <= n) { /* ASCII runs, eight bytes at a time */
                uint64_t word;
                memcpy(&word, s + i, 8);
                if (word & 0x8080808080808080u) break;
                i += 8;
            }
        } else if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return 0;
            if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F)) return 0;
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
                return 0;
            if ((c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] > 0x8F)) return 0;
            i += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

static int is_string(const uint8_t *buf, const Field *f) {
    return f->wire_type == LEN && utf8_valid(buf + f->start, f->end - f->start);
}

static int check_key_values(const uint8_t *buf, Py_ssize_t start, Py_ssize_t end, int depth);

/* An AnyValue: at most one member of its oneof, no unknown fields. */
static int check_any_value(const uint8_t *buf, Py_ssize_t start, Py_ssize_t end, int depth) {
    Py_ssize_t pos = start;
    Field f;
    int members = 0;
    if (depth > MAX_DEPTH) return FALLBACK;
    while (pos < end) {
        if (next_field(buf, &pos, end, &f) != OK || ++members > 1) return FALLBACK;
        switch (f.number) {
        case 1: /* string_value */
            if (!is_string(buf, &f)) return FALLBACK;
            break;
        case 2: /* bool_value */
        case 3: /* int_value */
            if (f.wire_type != VARINT) return FALLBACK;
            break;
        case 4: /* double_value */
            if (f.wire_type != I64) return FALLBACK;
            break;
        case 5: { /* array_value: ArrayValue { repeated AnyValue values = 1; } */
            Py_ssize_t at = f.start;
            Field item;
            if (f.wire_type != LEN) return FALLBACK;
            while (at < f.end) {
                if (next_field(buf, &at, f.end, &item) != OK || item.number != 1 || item.wire_type != LEN ||
                    check_any_value(buf, item.start, item.end, depth + 1) != OK)
                    return FALLBACK;
            }
            break;
        }
        case 6: /* kvlist_value: KeyValueList { repeated KeyValue values = 1; } */
            if (f.wire_type != LEN || check_key_values(buf, f.start, f.end, depth + 1) != OK) return FALLBACK;
            break;
        case 7: /* bytes_value */
            if (f.wire_type != LEN) return FALLBACK;
            break;
        default:
            return FALLBACK;
        }
    }
    return OK;
}

/* One KeyValue: its key and value ranges (each at most once, nothing else). */
static int key_value(const uint8_t *buf, Py_ssize_t start, Py_ssize_t end, int depth, Field *key, Field *value,
                     int *has_value) {
    Py_ssize_t pos = start;
    Field f;
    int has_key = 0;
    *has_value = 0;
    key->start = key->end = start;
    while (pos < end) {
        if (next_field(buf, &pos, end, &f) != OK || f.wire_type != LEN) return FALLBACK;
        if (f.number == 1 && !has_key) {
            if (!is_string(buf, &f)) return FALLBACK;
            *key = f;
            has_key = 1;
        } else if (f.number == 2 && !*has_value) {
            if (check_any_value(buf, f.start, f.end, depth + 1) != OK) return FALLBACK;
            *value = f;
            *has_value = 1;
        } else {
            return FALLBACK;
        }
    }
    return OK;
}

/* A list of ``repeated KeyValue values = 1`` (KeyValueList). */
static int check_key_values(const uint8_t *buf, Py_ssize_t start, Py_ssize_t end, int depth) {
    Py_ssize_t pos = start;
    Field f, key, value;
    int has_value;
    if (depth > MAX_DEPTH) return FALLBACK;
    while (pos < end) {
        if (next_field(buf, &pos, end, &f) != OK || f.number != 1 || f.wire_type != LEN ||
            key_value(buf, f.start, f.end, depth, &key, &value, &has_value) != OK)
            return FALLBACK;
    }
    return OK;
}

/* A message whose known fields are given as (number, wire type, is_string) and whose KeyValue
   attributes field is ``attributes``; unknown fields are skipped as protobuf does. */
typedef struct {
    uint32_t number;
    int wire_type;
    int is_string;
} Known;

static int check_message(const uint8_t *buf, Py_ssize_t start, Py_ssize_t end, const Known *known, size_t count,
                         uint32_t attributes) {
    Py_ssize_t pos = start;
    Field f, key, value;
    int has_value;
    while (pos < end) {
        if (next_field(buf, &pos, end, &f) != OK) return FALLBACK;
        if (f.number == attributes) {
            if (f.wire_type != LEN || key_value(buf, f.start, f.end, 1, &key, &value, &has_value) != OK) return FALLBACK;
            continue;
        }
        for (size_t i = 0; i < count; i++) {
            if (known[i].number == f.number) {
                if (known[i].wire_type != f.wire_type || (known[i].is_string && !is_string(buf, &f))) return FALLBACK;
                break;
            }
        }
    }
    return OK;
}

/* Span.Event: time 1 (fixed64), name 2, attributes 3, dropped_attributes_count 4. */
static const Known EVENT_FIELDS[] = {{1, I64, 0}, {2, LEN, 1}, {4, VARINT, 0}};
/* Span.Link: trace_id 1, span_id 2, trace_state 3, attributes 4, dropped 5, flags 6 (fixed32). */
static const Known LINK_FIELDS[] = {{1, LEN, 0}, {2, LEN, 0}, {3, LEN, 1}, {5, VARINT, 0}, {6, I32, 0}};
/* Status: message 2, code 3. */
static const Known STATUS_FIELDS[] = {{2, LEN, 1}, {3, VARINT, 0}};

static PyObject *hex_of(const uint8_t *bytes, Py_ssize_t size) {
    static const char digits[] = "0123456789abcdef";
    PyObject *text = PyUnicode_New(size * 2, 127);
    if (text == NULL) return NULL;
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(text);
    for (Py_ssize_t i = 0; i < size; i++) {
        out[2 * i] = (Py_UCS1)digits[bytes[i] >> 4];
        out[2 * i + 1] = (Py_UCS1)digits[bytes[i] & 15];
    }
    return text;
}

/* Recently seen short strings (attribute keys, model and provider names, ...) -> their str, so a
   repeated string costs a hash and a compare instead of a decode; for keys also whether they are
   wanted. Direct-mapped: a new string replaces the entry in its slot. Only used with the GIL held. */
#define CACHE_SLOTS 2048 /* a power of two */
#define CACHE_MAX_BYTES 48

struct CacheEntry {
    uint8_t size; /* 0: empty */
    uint8_t bytes[CACHE_MAX_BYTES];
    int wanted;   /* keys: a member of the wanted set the cache was filled for */
    PyObject *text;
};

static CacheEntry key_cache[CACHE_SLOTS];
static CacheEntry value_cache[CACHE_SLOTS];
static PyObject *key_cache_wanted; /* the frozenset key_cache answers for (a strong reference) */

static void cache_clear(CacheEntry *cache) {
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        cache[i].size = 0;
        Py_CLEAR(cache[i].text);
    }
}

static uint64_t load8(const uint8_t *bytes, Py_ssize_t size) { /* up to 8 bytes, zero-padded */
    uint64_t word = 0;
    memcpy(&word, bytes, (size_t)(size < 8 ? size : 8));
    return word;
}

/* The slot of a string: a hash of its length and its first, middle and last eight bytes (constant
   time; strings that collide only share a slot, the full compare decides). */
static CacheEntry *cache_slot(CacheEntry *cache, const uint8_t *bytes, Py_ssize_t size) {
    uint64_t hash = (uint64_t)size * 0x9E3779B97F4A7C15u;
    hash ^= load8(bytes, size);
    if (size > 8) {
        hash = (hash ^ load8(bytes + size / 2 - 4, 8)) * 0xBF58476D1CE4E5B9u;
        hash = (hash ^ load8(bytes + size - 8, 8)) * 0x94D049BB133111EBu;
    }
    hash ^= hash >> 31;
    hash *= 0x9E3779B97F4A7C15u;
    return &cache[(hash >> 32) & (CACHE_SLOTS - 1)];
}

/* A new reference to the str of ``bytes`` (valid UTF-8), from ``cache`` when it is there. */
static PyObject *cached_text(CacheEntry *cache, const uint8_t *bytes, Py_ssize_t size, CacheEntry **slot_out) {
    CacheEntry *slot = NULL;
    if (cache != NULL && size > 0 && size <= CACHE_MAX_BYTES) {
        slot = cache_slot(cache, bytes, size);
        if (slot->size == size && memcmp(slot->bytes, bytes, (size_t)size) == 0) {
            if (slot_out) *slot_out = slot;
            Py_INCREF(slot->text);
            return slot->text;
        }
    }
    PyObject *text = PyUnicode_DecodeUTF8((const char *)bytes, size, NULL);
    if (text == NULL || slot == NULL) {
        if (slot_out) *slot_out = NULL;
        return text;
    }
    Py_XSETREF(slot->text, Py_NewRef(text));
    slot->size = (uint8_t)size;
    memcpy(slot->bytes, bytes, (size_t)size);
    slot->wanted = -1; /* not known yet */
    if (slot_out) *slot_out = slot;
    return text;
}

/* A validated AnyValue as the Python value protobuf.value_of gives. */
static PyObject *convert(Scan *scan, Py_ssize_t start, Py_ssize_t end) {
    const uint8_t *buf = scan->buf;
    Py_ssize_t pos = start;
    Field f;
    double number;
    if (start == end) Py_RETURN_NONE;
    next_field(buf, &pos, end, &f); /* validated by check_any_value */
    switch (f.number) {
    case 1:
        return cached_text(value_cache, buf + f.start, f.end - f.start, NULL);
    case 2:
        return PyBool_FromLong(f.value != 0);
    case 3:
        return PyLong_FromLongLong((long long)(int64_t)f.value);
    case 4:
        memcpy(&number, buf + f.start, 8);
        return PyFloat_FromDouble(number);
    case 7:
        return PyBytes_FromStringAndSize((const char *)buf + f.start, f.end - f.start);
    default: { /* arrays and key-value lists */
        PyObject *raw = PyBytes_FromStringAndSize((const char *)buf + start, end - start);
        if (raw == NULL) return NULL;
        PyObject *value = PyObject_CallOneArg(scan->value_of, raw);
        Py_DECREF(raw);
        return value;
    }
    }
}

/* Add the attribute (a validated KeyValue) to ``attrs`` when its key is wanted. */
static int add_attribute(Scan *scan, PyObject *attrs, const Field *key, const Field *value, int has_value) {
    CacheEntry *slot = NULL;
    int wanted;
    PyObject *name = cached_text(scan->key_cache, scan->buf + key->start, key->end - key->start, &slot);
    if (name == NULL) return FAILED;
    /* The slot's flag answers for key_cache_wanted, which a scan in another thread may have
       changed while this one ran Python code (a callback): use it only for the same set. */
    if (slot != NULL && key_cache_wanted != scan->wanted) slot = NULL;
    if (slot != NULL && slot->wanted >= 0) {
        wanted = slot->wanted;
    } else {
        wanted = PySet_Contains(scan->wanted, name);
        if (slot != NULL && wanted >= 0) slot->wanted = wanted;
    }
    if (wanted <= 0) {
        Py_DECREF(name);
        return wanted < 0 ? FAILED : OK;
    }
    PyObject *converted = has_value ? convert(scan, value->start, value->end) : Py_NewRef(Py_None);
    if (converted == NULL) {
        Py_DECREF(name);
        return FAILED;
    }
    int status = PyDict_SetItem(attrs, name, converted); /* the last value of a key wins, as in a map */
    Py_DECREF(name);
    Py_DECREF(converted);
    return status < 0 ? FAILED : OK;
}

typedef struct {
    Field trace_id, span_id, parent;
    uint64_t start_time, end_time, status_code;
    PyObject *attrs;
} SpanParts;

/* One candidate Span; fills ``parts`` (attrs: a new dict) or returns FALLBACK / FAILED. */
static int read_span(Scan *scan, Py_ssize_t start, Py_ssize_t end, SpanParts *parts) {
    const uint8_t *buf = scan->buf;
    Py_ssize_t pos = start;
    Field f, key, value;
    int has_value, status_seen = 0, result;
    memset(parts, 0, sizeof *parts);
    parts->trace_id.start = parts->trace_id.end = start;
    parts->span_id = parts->parent = parts->trace_id;
    parts->attrs = PyDict_New();
    if (parts->attrs == NULL) return FAILED;
    while (pos < end) {
        if (next_field(buf, &pos, end, &f) != OK) goto fallback;
        switch (f.number) {
        case 1: case 2: case 4: /* trace_id, span_id, parent_span_id: the last one wins */
            if (f.wire_type != LEN) goto fallback;
            *(f.number == 1 ? &parts->trace_id : f.number == 2 ? &parts->span_id : &parts->parent) = f;
            break;
        case 3: case 5: /* trace_state, name */
            if (!is_string(buf, &f)) goto fallback;
            break;
        case 6: case 10: case 12: case 14: /* kind, dropped counts */
            if (f.wire_type != VARINT) goto fallback;
            break;
        case 7: case 8: /* start and end time */
            if (f.wire_type != I64) goto fallback;
            memcpy(f.number == 7 ? &parts->start_time : &parts->end_time, buf + f.start, 8);
            break;
        case 9: /* attributes */
            if (f.wire_type != LEN || key_value(buf, f.start, f.end, 0, &key, &value, &has_value) != OK) goto fallback;
            if (add_attribute(scan, parts->attrs, &key, &value, has_value) != OK) goto failed;
            break;
        case 11: /* events */
            if (f.wire_type != LEN || check_message(buf, f.start, f.end, EVENT_FIELDS, 3, 3) != OK) goto fallback;
            break;
        case 13: /* links */
            if (f.wire_type != LEN || check_message(buf, f.start, f.end, LINK_FIELDS, 5, 4) != OK) goto fallback;
            break;
        case 15: { /* status (merged when repeated: left to the Python path) */
            Py_ssize_t at = f.start;
            Field s;
            if (f.wire_type != LEN || status_seen++ || check_message(buf, f.start, f.end, STATUS_FIELDS, 2, 0) != OK)
                goto fallback;
            while (at < f.end) {
                next_field(buf, &at, f.end, &s);
                if (s.number == 3) parts->status_code = s.value;
            }
            if (parts->status_code > 0x7FFFFFFF) goto fallback;
            break;
        }
        case 16: /* flags */
            if (f.wire_type != I32) goto fallback;
            break;
        default: /* unknown: kept aside by protobuf, ignored here */
            break;
        }
    }
    if (parts->trace_id.end - parts->trace_id.start != 16 || parts->span_id.end - parts->span_id.start != 8) goto fallback;
    if (parts->parent.end != parts->parent.start && parts->parent.end - parts->parent.start != 8) goto fallback;
    return OK;
fallback:
    result = FALLBACK;
    goto release;
failed:
    result = FAILED;
release:
    Py_CLEAR(parts->attrs);
    return result;
}

#define MAX_MARKERS 8

/* The markers (attribute-key prefixes such as "gen_ai."). When they all end with the same byte,
   a span is searched for that byte (memchr) and each hit is compared with the markers' other
   bytes; otherwise each marker is searched for. */
typedef struct {
    Py_ssize_t count;
    const char *bytes[MAX_MARKERS];
    Py_ssize_t size[MAX_MARKERS];
    int last; /* the byte every marker ends with, or -1 */
} Markers;

static int contains_marker(const uint8_t *buf, Py_ssize_t start, Py_ssize_t end, const Markers *m) {
    if (m->last < 0) {
        for (Py_ssize_t i = 0; i < m->count; i++) {
            if (memmem(buf + start, (size_t)(end - start), m->bytes[i], (size_t)m->size[i])) return 1;
        }
        return 0;
    }
    const uint8_t *at = buf + start, *stop = buf + end;
    while ((at = memchr(at, m->last, (size_t)(stop - at))) != NULL) {
        Py_ssize_t head = at - buf + 1; /* one past the candidate marker's last byte */
        for (Py_ssize_t i = 0; i < m->count; i++) {
            if (head - m->size[i] >= start && memcmp(buf + head - m->size[i], m->bytes[i], (size_t)m->size[i]) == 0)
                return 1;
        }
        at++;
    }
    return 0;
}

static PyObject *make_view(Scan *scan, SpanParts *parts, PyObject *make, PyObject *info) {
    const uint8_t *buf = scan->buf;
    PyObject *args[10] = {NULL};
    PyObject *view = NULL;
    args[0] = hex_of(buf + parts->trace_id.start, 16);
    args[1] = hex_of(buf + parts->span_id.start, 8);
    args[2] = parts->parent.end > parts->parent.start ? hex_of(buf + parts->parent.start, 8)
                                                      : (Py_INCREF(Py_None), Py_None);
    args[3] = PyLong_FromUnsignedLongLong(parts->start_time);
    args[4] = PyLong_FromUnsignedLongLong(parts->end_time);
    args[5] = PyLong_FromUnsignedLongLong(parts->status_code);
    if (args[0] && args[1] && args[2] && args[3] && args[4] && args[5]) {
        args[6] = parts->attrs;
        args[7] = PyTuple_GET_ITEM(info, 0);
        args[8] = PyTuple_GET_ITEM(info, 1);
        args[9] = PyTuple_GET_ITEM(info, 2);
        view = PyObject_Vectorcall(make, args, 10, NULL);
    }
    for (int i = 0; i < 6; i++) Py_XDECREF(args[i]);
    return view;
}

typedef struct {
    Py_ssize_t start, end;
} Range;

/* The candidates of one ScopeSpans, held until its scope is known (it may come after the spans). */
typedef struct {
    SpanParts *items;
    Py_ssize_t count, capacity;
} Pending;

static void pending_clear(Pending *pending) {
    for (Py_ssize_t i = 0; i < pending->count; i++) Py_CLEAR(pending->items[i].attrs);
    pending->count = 0;
}

static int pending_add(Pending *pending, const SpanParts *parts) {
    if (pending->count == pending->capacity) {
        Py_ssize_t capacity = pending->capacity ? pending->capacity * 2 : 64;
        SpanParts *items = PyMem_Realloc(pending->items, (size_t)capacity * sizeof *items);
        if (items == NULL) {
            PyErr_NoMemory();
            return FAILED;
        }
        pending->items = items;
        pending->capacity = capacity;
    }
    pending->items[pending->count++] = *parts;
    return OK;
}

/* The views of one ScopeSpans' candidates, appended to ``views``. */
static int flush_block(Scan *scan, Pending *pending, Range resource, Range scope, PyObject *block_info,
                       PyObject *make, PyObject *views) {
    if (pending->count == 0) return OK;
    PyObject *info = PyObject_CallFunction(block_info, "nnnn", resource.start, resource.end, scope.start, scope.end);
    if (info == NULL) return FAILED;
    if (!PyTuple_Check(info) || PyTuple_GET_SIZE(info) != 3) {
        Py_DECREF(info);
        PyErr_SetString(PyExc_TypeError, "block_info must return (scope_name, scope_version, resource)");
        return FAILED;
    }
    int status = OK;
    for (Py_ssize_t i = 0; i < pending->count && status == OK; i++) {
        PyObject *view = make_view(scan, &pending->items[i], make, info);
        if (view == NULL || PyList_Append(views, view) < 0) status = FAILED;
        Py_XDECREF(view);
    }
    Py_DECREF(info);
    pending_clear(pending);
    return status;
}

static PyObject *scan(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 6 || !PyBytes_Check(args[0]) || !PyTuple_Check(args[1]) || !PyAnySet_Check(args[2]) ||
        !PyCallable_Check(args[3]) || !PyCallable_Check(args[4]) || !PyCallable_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError,
                        "scan(body: bytes, markers: tuple[bytes, ...], wanted: set[str], value_of, block_info, make_view)");
        return NULL;
    }
    Markers markers = {PyTuple_GET_SIZE(args[1]), {0}, {0}, -1};
    if (markers.count > MAX_MARKERS) {
        PyErr_SetString(PyExc_TypeError, "at most 8 markers");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < markers.count; i++) {
        PyObject *marker = PyTuple_GET_ITEM(args[1], i);
        if (!PyBytes_Check(marker) || PyBytes_GET_SIZE(marker) == 0) {
            PyErr_SetString(PyExc_TypeError, "markers must be non-empty bytes");
            return NULL;
        }
        markers.bytes[i] = PyBytes_AS_STRING(marker);
        markers.size[i] = PyBytes_GET_SIZE(marker);
        int last = (uint8_t)markers.bytes[i][markers.size[i] - 1];
        markers.last = i == 0 || markers.last == last ? last : -2;
    }
    if (markers.last == -2) markers.last = -1;
    Scan scan = {(const uint8_t *)PyBytes_AS_STRING(args[0]), args[2], args[3], NULL};
    if (PyFrozenSet_CheckExact(args[2])) {
        if (key_cache_wanted != args[2]) {
            cache_clear(key_cache);
            Py_XSETREF(key_cache_wanted, Py_NewRef(args[2]));
        }
        scan.key_cache = key_cache;
    }
    PyObject *block_info = args[4], *make = args[5];
    const uint8_t *buf = scan.buf;
    Py_ssize_t size = PyBytes_GET_SIZE(args[0]), pos = 0, received = 0;
    Field request, rs, ss;
    Pending pending = {NULL, 0, 0};
    int status = OK;
    PyObject *views = PyList_New(0);
    if (views == NULL) return NULL;
    while (pos < size && status == OK) {
        if (next_field(buf, &pos, size, &request) != OK || request.number != 1 || request.wire_type != LEN) {
            status = FALLBACK;
            break;
        }
        Range resource = {-1, -1};
        int scope_spans_seen = 0;
        Py_ssize_t at = request.start;
        while (at < request.end && status == OK) { /* ResourceSpans: resource 1, scope_spans 2, schema_url 3 */
            if (next_field(buf, &at, request.end, &rs) != OK || rs.wire_type != LEN) {
                status = FALLBACK;
            } else if (rs.number == 1) {
                /* Repeated (protobuf merges them) or after spans already read: left to the Python path. */
                if (resource.start >= 0 || scope_spans_seen) status = FALLBACK;
                resource = (Range){rs.start, rs.end};
            } else if (rs.number == 2) {
                Range scope = {-1, -1};
                scope_spans_seen = 1;
                Py_ssize_t in = rs.start;
                while (in < rs.end && status == OK) { /* ScopeSpans: scope 1, spans 2, schema_url 3 */
                    if (next_field(buf, &in, rs.end, &ss) != OK || ss.wire_type != LEN) {
                        status = FALLBACK;
                    } else if (ss.number == 1) {
                        if (scope.start >= 0) status = FALLBACK;
                        scope = (Range){ss.start, ss.end};
                    } else if (ss.number == 2) {
                        received++;
                        if (contains_marker(buf, ss.start, ss.end, &markers)) {
                            SpanParts parts;
                            status = read_span(&scan, ss.start, ss.end, &parts);
                            if (status == OK && pending_add(&pending, &parts) != OK) {
                                Py_DECREF(parts.attrs);
                                status = FAILED;
                            }
                        }
                    } else if (ss.number != 3) {
                        status = FALLBACK;
                    }
                }
                if (status == OK) status = flush_block(&scan, &pending, resource, scope, block_info, make, views);
            } else if (rs.number != 3) {
                status = FALLBACK;
            }
        }
    }
    pending_clear(&pending);
    PyMem_Free(pending.items);
    if (status == OK) return Py_BuildValue("(nN)", received, views);
    Py_DECREF(views);
    if (status == FAILED) return NULL;
    Py_RETURN_NONE;
}

/* pick(attrs, plan, max_count): for each (keys, kind) of ``plan``, the first value among ``keys``
   as values.first_count (kind 0) or values.first_text (kind 1) give it, when every value met is
   plain (a count is an int in 0..max_count, a text a str); None as soon as one is not, so the
   caller runs the Python readers, which give the same values or the precise error. */
static PyObject *pick(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 3 || !PyDict_Check(args[0]) || !PyTuple_Check(args[1]) || !PyLong_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "pick(attrs: dict, plan: tuple[tuple[tuple[str, ...], int], ...], max_count)");
        return NULL;
    }
    PyObject *attrs = args[0], *plan = args[1];
    long long max_count = PyLong_AsLongLong(args[2]);
    if (max_count == -1 && PyErr_Occurred()) return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(plan);
    PyObject *result = PyTuple_New(count);
    if (result == NULL) return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *entry = PyTuple_GET_ITEM(plan, i);
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2 || !PyTuple_Check(PyTuple_GET_ITEM(entry, 0))) {
            Py_DECREF(result);
            PyErr_SetString(PyExc_TypeError, "plan entries must be (keys, kind)");
            return NULL;
        }
        PyObject *keys = PyTuple_GET_ITEM(entry, 0);
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(entry, 1));
        if (kind == -1 && PyErr_Occurred()) {
            Py_DECREF(result);
            return NULL;
        }
        PyObject *found = Py_None;
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(keys); k++) {
            PyObject *value = PyDict_GetItemWithError(attrs, PyTuple_GET_ITEM(keys, k)); /* borrowed */
            if (value == NULL) {
                if (PyErr_Occurred()) {
                    Py_DECREF(result);
                    return NULL;
                }
                continue;
            }
            if (kind == 0) { /* first_count: the first present key decides */
                if (!PyLong_CheckExact(value)) goto not_plain;
                int overflow;
                long long n = PyLong_AsLongLongAndOverflow(value, &overflow);
                if (overflow || n < 0 || n > max_count) goto not_plain;
                found = value;
                break;
            }
            if (value == Py_None) continue; /* first_text: absent, empty and None are skipped */
            if (!PyUnicode_CheckExact(value)) goto not_plain;
            if (PyUnicode_GET_LENGTH(value) > 0) {
                found = value;
                break;
            }
        }
        PyTuple_SET_ITEM(result, i, Py_NewRef(found));
    }
    return result;
not_plain:
    Py_DECREF(result);
    Py_RETURN_NONE;
}

static PyMethodDef METHODS[] = {
    {"scan", (PyCFunction)(void (*)(void))scan, METH_FASTCALL,
     "scan(body, markers, wanted, value_of, block_info, make_view) -> (spans_received, views) | None"},
    {"pick", (PyCFunction)(void (*)(void))pick, METH_FASTCALL,
     "pick(attrs, plan, max_count) -> the first plain value per (keys, kind) of plan | None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "_spanscan", "Compiled fast path of ingest.protobuf.", -1, METHODS, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__spanscan(void) { return PyModule_Create(&MODULE); }
