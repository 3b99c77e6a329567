/* Compiled core of corridor.store.events.index_event for the usual event shapes.
 *
 * index(event) returns (event_type, action, event_time, biz_step, disposition, read_point,
 * biz_location, transformation_id, epcs, fields, parties), the values index_event puts in
 * an IndexedEvent (error_time is None: an event with an errorDeclaration is Python's), or
 * None: "use the Python path". The Python function stays the reference: any key, type or
 * value this file does not handle itself (extension fields, ilmd, sensors, error
 * declarations, persistent dispositions, CBV values written as URIs, times other than
 * `YYYY-MM-DDTHH:MM:SS[.digits]` with `Z` or `+hh:mm` / `-hh:mm`, str or dict subclasses,
 * ...) gives None, and so does any exception on the way, so the Python path computes the
 * result (or raises) exactly as without this module.
 *
 * Identifiers go through corridor.epcis.identifiers.canonical (passed in by configure()),
 * except plain SGTIN URNs, converted here (a fresh serial misses that function's cache every
 * time), and values that are neither EPC URNs nor http(s) URIs, which it returns unchanged.
 * The tables shared with Python come from _epcis_tables.h (see corridor.epcis.c_tables).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#include "../_civil_time.h"
#include "../_epcis_tables.h"

static int configured = 0;
static PyObject *canonical_fn;
/* CBV prefixes (corridor.epcis.cbv.PREFIXES): a value starting with one is Python's */
static PyObject *P_eventType, *P_bizStep, *P_disposition, *P_btt, *P_sdt;
static PyObject *S_eventTime, *S_type, *S_action, *S_bizStep, *S_disposition, *S_readPoint,
    *S_bizLocation, *S_transformationID, *S_id, *S_parentID, *S_epcClass, *S_quantity, *S_uom,
    *S_bizTransactionList, *S_bizTransaction, *S_sourceList, *S_source, *S_destinationList,
    *S_destination, *S_parent, *S_bt_path, *S_source_path, *S_destination_path, *S_empty;
/* keys whose presence sends the event to Python (they add index rows this file does not make) */
#define N_PYTHON_KEYS 4
static PyObject *python_keys[N_PYTHON_KEYS];
#define N_ROLES 4
static PyObject *epc_keys[N_ROLES], *epc_roles[N_ROLES], *qty_keys[N_ROLES], *qty_roles[N_ROLES];

/* Return codes: 1 done, 0 Python decides (no exception set), -1 exception set. */

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

static inline int starts(const char *s, Py_ssize_t n, const char *prefix) {
    size_t k = strlen(prefix);
    return (size_t)n >= k && memcmp(s, prefix, k) == 0;
}

/* 1 if str s starts with any str of the tuple, 0 if not, -1 error */
static int starts_with_any(PyObject *s, PyObject *prefixes) {
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(prefixes); i++) {
        Py_ssize_t r = PyUnicode_Tailmatch(s, PyTuple_GET_ITEM(prefixes, i), 0,
                                           PY_SSIZE_T_MAX, -1);
        if (r != 0) return r < 0 ? -1 : 1;
    }
    return 0;
}

/* a CBV value as normalise() leaves it: *out borrowed; 0 when normalise would change it */
static int plain_word(PyObject *value, PyObject *prefixes, PyObject **out) {
    if (!PyUnicode_CheckExact(value)) return 0;
    int r = starts_with_any(value, prefixes);
    if (r != 0) return r < 0 ? -1 : 0;
    *out = value;
    return 1;
}

/* ---------------------------------------------------------------- identifiers */

/* urn:epc:id:sgtin:CP.IR.SERIAL -> https://id.gs1.org/01/GTIN14/21/SERIAL, as
   corridor.epcis.identifiers.urn_to_dl does it for a serial that needs no percent-encoding
   (the prefixes, characters and check digit: _epcis_tables.h, from that module);
   NULL with no exception when the Python function should decide */
static PyObject *sgtin_dl(const char *s, Py_ssize_t n) {
    const char *body = s + (sizeof EPCIS_SGTIN - 1);
    Py_ssize_t len = n - (Py_ssize_t)(sizeof EPCIS_SGTIN - 1);
    const char *dot1 = memchr(body, '.', (size_t)len);
    if (dot1 == NULL) return NULL;
    const char *dot2 = memchr(dot1 + 1, '.', (size_t)(body + len - dot1 - 1));
    if (dot2 == NULL) return NULL;
    const char *serial = dot2 + 1;
    Py_ssize_t serial_len = body + len - serial;
    Py_ssize_t cp_len = dot1 - body, ir_len = dot2 - dot1 - 1;
    if (cp_len + ir_len != 13) return NULL;
    char digits[14];
    /* indicator digit, company prefix, rest of the item reference */
    Py_ssize_t k = 0;
    if (ir_len > 0) digits[k++] = dot1[1];
    memcpy(digits + k, body, (size_t)cp_len);
    k += cp_len;
    if (ir_len > 1) memcpy(digits + k, dot1 + 2, (size_t)(ir_len - 1));
    for (int i = 0; i < 13; i++)
        if (!is_digit(digits[i])) return NULL;
    digits[13] = (char)('0' + epcis_check_digit(digits, 13));
    for (Py_ssize_t i = 0; i < serial_len; i++) {
        unsigned char c = (unsigned char)serial[i];
        /* identifiers.KEY_PLAIN, but a dot (a serial holds none: there are exactly two) */
        if (c >= 128 || !EPCIS_KEY_PLAIN[c] || c == '.') return NULL;
    }
    static const char head[] = EPCIS_DL_GTIN, qualifier[] = EPCIS_DL_SERIAL;
    Py_ssize_t head_len = (Py_ssize_t)sizeof head - 1, q_len = (Py_ssize_t)sizeof qualifier - 1;
    PyObject *r = PyUnicode_New(head_len + 14 + q_len + serial_len, 127);
    if (r == NULL) return NULL;
    char *o = (char *)PyUnicode_1BYTE_DATA(r);
    memcpy(o, head, (size_t)head_len);
    memcpy(o + head_len, digits, 14);
    memcpy(o + head_len + 14, qualifier, (size_t)q_len);
    memcpy(o + head_len + 14 + q_len, serial, (size_t)serial_len);
    return r;
}

/* canonical(identifier) for an exact str: a new reference, NULL on error */
static PyObject *canonical(PyObject *id) {
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(id) < 0) return NULL;
#endif
    if (PyUnicode_IS_ASCII(id)) {
        const char *s = (const char *)PyUnicode_1BYTE_DATA(id);
        Py_ssize_t n = PyUnicode_GET_LENGTH(id);
        if (starts(s, n, EPCIS_SGTIN)) {
            PyObject *r = sgtin_dl(s, n);
            if (r != NULL || PyErr_Occurred()) return r;
        } else if (!starts(s, n, EPCIS_EPC_URN) && !starts(s, n, "http://")
                   && !starts(s, n, "https://")) {
            Py_INCREF(id);  /* canonical returns any other value as it is */
            return id;
        }
    }
    return PyObject_CallOneArg(canonical_fn, id);
}

/* ---------------------------------------------------------------- eventTime */

/* events.utc_time for `YYYY-MM-DDTHH:MM:SS[.fraction]` and `Z` or `+hh:mm` / `-hh:mm`, away
   from the ends of datetime's range: a new str, or NULL (no exception) for Python */
static PyObject *utc_time(PyObject *value) {
    if (!PyUnicode_CheckExact(value)) return NULL;
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(value) < 0) return NULL;
#endif
    if (!PyUnicode_IS_ASCII(value)) return NULL;
    const char *s = (const char *)PyUnicode_1BYTE_DATA(value);
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return NULL;
    int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2), h = num(s + 11, 2),
        mi = num(s + 14, 2), se = num(s + 17, 2);
    if (y < 2 || y > 9998 || mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) || h < 0
        || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59)
        return NULL;
    Py_ssize_t i = 19, frac = 0;
    if (s[i] == '.') {
        while (i + 1 + frac < n && is_digit(s[i + 1 + frac])) frac++;
        if (frac < 1 || frac > 9) return NULL;  /* (the fast path's limit; the rest: Python) */
        i += 1 + frac;
    }
    int shift = 0; /* minutes to add to reach UTC */
    if (i + 1 == n && s[i] == 'Z') {
        shift = 0;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh = num(s + i + 1, 2), om = num(s + i + 4, 2);
        if (oh < 0 || om < 0 || oh > 23 || om > 59) return NULL;
        shift = (s[i] == '+' ? -1 : 1) * (oh * 60 + om);
    } else {
        return NULL;
    }
    int minutes = h * 60 + mi + shift;
    roll_day(&y, &mo, &d, &minutes);
    char digits[7] = "000000";
    for (Py_ssize_t k = 0; k < frac && k < 6; k++) digits[k] = s[20 + k];
    char out[32];
    int len = snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%sZ", y, mo, d,
                       minutes / 60, minutes % 60, se, digits);
    if (len != 27) return NULL;
    return PyUnicode_FromStringAndSize(out, 27);
}

/* ---------------------------------------------------------------- the event */

/* `event.get(key) or ()` when that is a list: 1 with *items (borrowed; NULL for nothing to
   iterate), 0 for a value Python iterates its own way, -1 on error */
static int list_at(PyObject *event, PyObject *key, PyObject **items) {
    *items = NULL;
    PyObject *value = PyDict_GetItemWithError(event, key);
    if (value == NULL) return PyErr_Occurred() ? -1 : 1;
    if (value == Py_None) return 1;
    if (!PyList_CheckExact(value)) return 0;
    *items = value;
    return 1;
}

/* append `row` (a new reference; NULL after a failed PyTuple_Pack) and release it */
static int append_row(PyObject *list, PyObject *row) {
    if (row == NULL) return -1;
    int r = PyList_Append(list, row);
    Py_DECREF(row);
    return r;
}

/* readPoint / bizLocation: its canonical id (new reference, or None) in *out; 0 when the
   structure has extension fields (Python's rows) or unusual types */
static int location(PyObject *event, PyObject *key, PyObject **out) {
    PyObject *loc = PyDict_GetItemWithError(event, key);
    if (loc == NULL && PyErr_Occurred()) return -1;
    if (loc == NULL || !PyDict_Check(loc)) {
        *out = Py_NewRef(Py_None);
        return 1;
    }
    if (!PyDict_CheckExact(loc)) return 0;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(loc, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k)) return 0;
        Py_ssize_t len = PyUnicode_GET_LENGTH(k);
        if (len > 0 && PyUnicode_READ_CHAR(k, 0) == '@') continue;
        if (PyUnicode_FindChar(k, ':', 0, len, 1) != -1) return 0;
    }
    PyObject *id = PyDict_GetItemWithError(loc, S_id);
    if (id == NULL && PyErr_Occurred()) return -1;
    if (id == NULL || !PyUnicode_Check(id)) {
        *out = Py_NewRef(Py_None);
        return 1;
    }
    if (!PyUnicode_CheckExact(id)) return 0;
    *out = canonical(id);
    return *out == NULL ? -1 : 1;
}

static int epc_rows(PyObject *event, PyObject *epcs) {
    for (int r = 0; r < N_ROLES; r++) {
        PyObject *items;
        int rc = list_at(event, epc_keys[r], &items);
        if (rc <= 0) return rc;
        for (Py_ssize_t i = 0; items != NULL && i < PyList_GET_SIZE(items); i++) {
            PyObject *epc = PyList_GET_ITEM(items, i);
            if (!PyUnicode_Check(epc)) continue;
            if (!PyUnicode_CheckExact(epc)) return 0;
            PyObject *key = canonical(epc);
            if (key == NULL) return -1;
            if (append_row(epcs, PyTuple_Pack(4, epc_roles[r], key, Py_None, Py_None)) < 0) {
                Py_DECREF(key);
                return -1;
            }
            Py_DECREF(key);
        }
    }
    PyObject *parent = PyDict_GetItemWithError(event, S_parentID);
    if (parent == NULL && PyErr_Occurred()) return -1;
    if (parent != NULL && PyUnicode_Check(parent)) {
        if (!PyUnicode_CheckExact(parent)) return 0;
        PyObject *key = canonical(parent);
        if (key == NULL) return -1;
        int r = append_row(epcs, PyTuple_Pack(4, S_parent, key, Py_None, Py_None));
        Py_DECREF(key);
        if (r < 0) return -1;
    }
    for (int r = 0; r < N_ROLES; r++) {
        PyObject *items;
        int rc = list_at(event, qty_keys[r], &items);
        if (rc <= 0) return rc;
        for (Py_ssize_t i = 0; items != NULL && i < PyList_GET_SIZE(items); i++) {
            PyObject *q = PyList_GET_ITEM(items, i);
            if (!PyDict_Check(q)) continue;
            if (!PyDict_CheckExact(q)) return 0;
            PyObject *cls = PyDict_GetItemWithError(q, S_epcClass);
            if (cls == NULL && PyErr_Occurred()) return -1;
            if (cls == NULL || !PyUnicode_Check(cls)) continue;
            if (!PyUnicode_CheckExact(cls)) return 0;
            PyObject *qty = PyDict_GetItemWithError(q, S_quantity);
            if (qty == NULL && PyErr_Occurred()) return -1;
            double d = NAN;
            if (qty != NULL && PyFloat_CheckExact(qty)) {
                d = PyFloat_AS_DOUBLE(qty);
            } else if (qty != NULL && PyLong_CheckExact(qty)) {
                d = PyLong_AsDouble(qty);
                if (d == -1.0 && PyErr_Occurred()) return -1;  /* too large: Python raises */
            } else if (qty != NULL && (PyLong_Check(qty) || PyFloat_Check(qty))) {
                return 0;  /* bool and other subclasses */
            }
            PyObject *uom = PyDict_GetItemWithError(q, S_uom);
            if (uom == NULL && PyErr_Occurred()) return -1;
            PyObject *key = canonical(cls);
            if (key == NULL) return -1;
            PyObject *number = isfinite(d) ? PyFloat_FromDouble(d) : Py_NewRef(Py_None);
            if (number == NULL) {
                Py_DECREF(key);
                return -1;
            }
            int appended = append_row(epcs, PyTuple_Pack(4, qty_roles[r], key, number,
                                                         uom != NULL ? uom : Py_None));
            Py_DECREF(key);
            Py_DECREF(number);
            if (appended < 0) return -1;
        }
    }
    return 1;
}

/* bizTransactionList: rows (path prefix + normalised type, canonical value, None) into
   `rows`; sourceList, destinationList (`pairs` set): (path, canonical value) pairs */
static int typed_rows(PyObject *event, PyObject *list_key, PyObject *member, PyObject *path,
                      PyObject *prefixes, PyObject *rows, int pairs) {
    PyObject *items;
    int rc = list_at(event, list_key, &items);
    if (rc <= 0) return rc;
    for (Py_ssize_t i = 0; items != NULL && i < PyList_GET_SIZE(items); i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        if (!PyDict_Check(item)) continue;
        if (!PyDict_CheckExact(item)) return 0;
        PyObject *id = PyDict_GetItemWithError(item, member);
        if (id == NULL && PyErr_Occurred()) return -1;
        if (id == NULL || !PyUnicode_Check(id)) continue;
        if (!PyUnicode_CheckExact(id)) return 0;
        PyObject *type = PyDict_GetItemWithError(item, S_type), *word;
        if (type == NULL && PyErr_Occurred()) return -1;
        int r = plain_word(type != NULL ? type : S_empty, prefixes, &word);
        if (r <= 0) return r;
        PyObject *key = canonical(id);
        if (key == NULL) return -1;
        PyObject *full = PyUnicode_Concat(path, word);
        if (full == NULL) {
            Py_DECREF(key);
            return -1;
        }
        r = append_row(rows, pairs ? PyTuple_Pack(2, full, key)
                                   : PyTuple_Pack(3, full, key, Py_None));
        Py_DECREF(full);
        Py_DECREF(key);
        if (r < 0) return -1;
    }
    return 1;
}

/* the scalar columns' values, borrowed, in tuple order (positions 0, 1, 3, 4, 7) */
static int scalars(PyObject *event, PyObject **type, PyObject **action, PyObject **step,
                   PyObject **disp, PyObject **transformation) {
    PyObject *v = PyDict_GetItemWithError(event, S_type);
    if (v == NULL && PyErr_Occurred()) return -1;
    int r = plain_word(v != NULL ? v : S_empty, P_eventType, type);
    if (r <= 0) return r;
    PyObject *const keys[2] = {S_bizStep, S_disposition};
    PyObject *const prefixes[2] = {P_bizStep, P_disposition};
    PyObject **outs[2] = {step, disp};
    for (int k = 0; k < 2; k++) {
        v = PyDict_GetItemWithError(event, keys[k]);
        if (v == NULL && PyErr_Occurred()) return -1;
        *outs[k] = Py_None;
        if (v != NULL && PyUnicode_Check(v) && (r = plain_word(v, prefixes[k], outs[k])) <= 0)
            return r;
    }
    *action = PyDict_GetItemWithError(event, S_action);
    if (*action == NULL && PyErr_Occurred()) return -1;
    *transformation = PyDict_GetItemWithError(event, S_transformationID);
    if (*transformation == NULL && PyErr_Occurred()) return -1;
    if (*action == NULL) *action = Py_None;
    if (*transformation == NULL) *transformation = Py_None;
    return 1;
}

/* 0 when a key of the event adds index rows of its own (an extension field, or one of
   python_keys) */
static int plain_keys(PyObject *event) {
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(event, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k)) return 0;
        Py_ssize_t len = PyUnicode_GET_LENGTH(k);
        if (len > 0 && PyUnicode_READ_CHAR(k, 0) == '@') continue;
        if (PyUnicode_FindChar(k, ':', 0, len, 1) != -1) return 0;
    }
    for (int i = 0; i < N_PYTHON_KEYS; i++) {
        int r = PyDict_Contains(event, python_keys[i]);
        if (r != 0) return r < 0 ? -1 : 0;
    }
    return 1;
}

static int index_into(PyObject *event, PyObject **out) {
    PyObject *type, *action, *step, *disp, *transformation;
    PyObject *time = NULL, *read_point = NULL, *biz_location = NULL, *epcs = NULL,
             *fields = NULL, *parties = NULL;
    int r = plain_keys(event);
    if (r <= 0) return r;
    if ((r = scalars(event, &type, &action, &step, &disp, &transformation)) <= 0) return r;
    PyObject *when = PyDict_GetItemWithError(event, S_eventTime);
    if (when == NULL) return PyErr_Occurred() ? -1 : 0;
    time = utc_time(when);
    if (time == NULL) return PyErr_Occurred() ? -1 : 0;
    if ((r = location(event, S_readPoint, &read_point)) <= 0) goto done;
    if ((r = location(event, S_bizLocation, &biz_location)) <= 0) goto done;
    r = -1;
    if ((epcs = PyList_New(0)) == NULL || (fields = PyList_New(0)) == NULL
        || (parties = PyList_New(0)) == NULL)
        goto done;
    if ((r = epc_rows(event, epcs)) <= 0) goto done;
    if ((r = typed_rows(event, S_bizTransactionList, S_bizTransaction, S_bt_path, P_btt,
                        fields, 0)) <= 0)
        goto done;
    if ((r = typed_rows(event, S_sourceList, S_source, S_source_path, P_sdt, parties, 1)) <= 0)
        goto done;
    if ((r = typed_rows(event, S_destinationList, S_destination, S_destination_path, P_sdt,
                        parties, 1)) <= 0)
        goto done;
    *out = PyTuple_Pack(11, type, action, time, step, disp, read_point, biz_location,
                        transformation, epcs, fields, parties);
    r = *out == NULL ? -1 : 1;
done:
    Py_XDECREF(time);
    Py_XDECREF(read_point);
    Py_XDECREF(biz_location);
    Py_XDECREF(epcs);
    Py_XDECREF(fields);
    Py_XDECREF(parties);
    return r;
}

static PyObject *ic_index(PyObject *self, PyObject *event) {
    (void)self;
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "_indexcore.configure() was not called");
        return NULL;
    }
    if (!PyDict_CheckExact(event)) Py_RETURN_NONE;
    PyObject *out = NULL;
    if (index_into(event, &out) <= 0) {
        PyErr_Clear();  /* the Python path meets the same problem and reports it */
        Py_RETURN_NONE;
    }
    return out;
}

/* ---------------------------------------------------------------- configuration */

static int intern(PyObject **slot, const char *text) {
    Py_XSETREF(*slot, PyUnicode_InternFromString(text));
    return *slot == NULL ? -1 : 0;
}

static int prefixes(PyObject **slot, PyObject *table, const char *kind) {
    PyObject *t = PyDict_GetItemString(table, kind);
    if (t == NULL || !PyTuple_CheckExact(t)) {
        PyErr_Format(PyExc_ValueError, "prefixes: %s missing or not a tuple", kind);
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(t); i++)
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(t, i))) {
            PyErr_Format(PyExc_ValueError, "prefixes: %s holds a non-str", kind);
            return -1;
        }
    Py_INCREF(t);
    Py_XSETREF(*slot, t);
    return 0;
}

static PyObject *ic_configure(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *fn, *table;
    if (!PyArg_ParseTuple(args, "OO!", &fn, &PyDict_Type, &table)) return NULL;
    static const char *epc_names[N_ROLES][2] = {
        {"epcList", "epc"}, {"childEPCs", "child"}, {"inputEPCList", "input"},
        {"outputEPCList", "output"}};
    static const char *qty_names[N_ROLES][2] = {
        {"quantityList", "class"}, {"childQuantityList", "child_class"},
        {"inputQuantityList", "input_class"}, {"outputQuantityList", "output_class"}};
    static const char *python_names[N_PYTHON_KEYS] = {
        "errorDeclaration", "ilmd", "persistentDisposition", "sensorElementList"};
    for (int i = 0; i < N_ROLES; i++)
        if (intern(&epc_keys[i], epc_names[i][0]) || intern(&epc_roles[i], epc_names[i][1])
            || intern(&qty_keys[i], qty_names[i][0]) || intern(&qty_roles[i], qty_names[i][1]))
            return NULL;
    for (int i = 0; i < N_PYTHON_KEYS; i++)
        if (intern(&python_keys[i], python_names[i])) return NULL;
    if (intern(&S_eventTime, "eventTime") || intern(&S_type, "type")
        || intern(&S_action, "action") || intern(&S_bizStep, "bizStep")
        || intern(&S_disposition, "disposition") || intern(&S_readPoint, "readPoint")
        || intern(&S_bizLocation, "bizLocation")
        || intern(&S_transformationID, "transformationID") || intern(&S_id, "id")
        || intern(&S_parentID, "parentID") || intern(&S_epcClass, "epcClass")
        || intern(&S_quantity, "quantity") || intern(&S_uom, "uom")
        || intern(&S_bizTransactionList, "bizTransactionList")
        || intern(&S_bizTransaction, "bizTransaction") || intern(&S_sourceList, "sourceList")
        || intern(&S_source, "source") || intern(&S_destinationList, "destinationList")
        || intern(&S_destination, "destination") || intern(&S_parent, "parent")
        || intern(&S_bt_path, "bizTransaction:") || intern(&S_source_path, "source:")
        || intern(&S_destination_path, "destination:") || intern(&S_empty, ""))
        return NULL;
    if (prefixes(&P_eventType, table, "eventType") || prefixes(&P_bizStep, table, "bizStep")
        || prefixes(&P_disposition, table, "disposition")
        || prefixes(&P_btt, table, "bizTransactionType")
        || prefixes(&P_sdt, table, "sourceDestType"))
        return NULL;
    Py_INCREF(fn);
    Py_XSETREF(canonical_fn, fn);
    configured = 1;
    Py_RETURN_NONE;
}

/* test hooks: the C conversions alone ("" when Python would decide) */
static PyObject *ic_canonical(PyObject *self, PyObject *arg) {
    (void)self;
    if (!configured || !PyUnicode_CheckExact(arg)) {
        PyErr_SetString(PyExc_TypeError, "configured module and a str expected");
        return NULL;
    }
    return canonical(arg);
}

static PyObject *ic_utc_time(PyObject *self, PyObject *arg) {
    (void)self;
    PyObject *r = utc_time(arg);
    if (r == NULL && !PyErr_Occurred()) return PyUnicode_FromString("");
    return r;
}

static PyMethodDef methods[] = {
    {"index", ic_index, METH_O,
     "index(event) -> the IndexedEvent values as a tuple, or None for the Python path"},
    {"configure", ic_configure, METH_VARARGS,
     "configure(canonical, prefixes): the identifier function and the CBV prefix table"},
    {"canonical", ic_canonical, METH_O, "the identifier conversion alone (tests)"},
    {"utc_time", ic_utc_time, METH_O, "the eventTime conversion alone (tests)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_indexcore", "Compiled core of corridor.store.events.index_event.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__indexcore(void) { return PyModule_Create(&module); }
