/* corridor.ledger._jcscore: the check of corridor.ledger.jcs._orjson_exact in C.
 *
 * canonicalize() lets orjson write RFC 8785 bytes when every value of the event is one that
 * orjson writes exactly as RFC 8785 does; this walk decides that. In Python it cost about a
 * tenth of preparing an event (a loop over every key and value); the rules here are the same,
 * and tests/ledger/test_jcs_native.py holds the two to each other.
 *
 * orjson_exact(value) -> bool: True when value is built of dict (str keys whose characters
 * are all below U+D800, so that code point order is UTF-16 order), list, str, int, bool, None
 * and finite non-integral floats whose repr has no exponent, at most MAX_DEPTH levels deep
 * (orjson refuses deeper ones). Exact types only, as the Python check.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#define MAX_DEPTH 255

static int float_ok(double d)
{
    if (!isfinite(d) || floor(d) == d)
        return 0;
    /* what repr(float) gives */
    char *text = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (text == NULL)
        return -1;
    int ok = strpbrk(text, "eE") == NULL;
    PyMem_Free(text);
    return ok;
}

static int key_ok(PyObject *key)
{
    if (!PyUnicode_CheckExact(key))
        return 0;
    int kind = PyUnicode_KIND(key);
    if (kind == PyUnicode_1BYTE_KIND)
        return 1;
    const void *data = PyUnicode_DATA(key);
    Py_ssize_t n = PyUnicode_GET_LENGTH(key);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyUnicode_READ(kind, data, i) >= 0xD800)
            return 0;
    }
    return 1;
}

/* 1: exact, 0: not, -1: error set */
static int exact(PyObject *v, int depth)
{
    if (PyUnicode_CheckExact(v) || PyLong_CheckExact(v) || PyBool_Check(v) || v == Py_None)
        return 1;
    if (PyFloat_CheckExact(v))
        return float_ok(PyFloat_AS_DOUBLE(v));
    if (depth >= MAX_DEPTH)
        return 0;
    if (PyDict_CheckExact(v)) {
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (PyDict_Next(v, &pos, &key, &value)) {
            if (!key_ok(key))
                return 0;
            int r = exact(value, depth + 1);
            if (r != 1)
                return r;
        }
        return 1;
    }
    if (PyList_CheckExact(v)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
            int r = exact(PyList_GET_ITEM(v, i), depth + 1);
            if (r != 1)
                return r;
        }
        return 1;
    }
    return 0;
}

static PyObject *jc_orjson_exact(PyObject *module, PyObject *value)
{
    (void)module;
    int r = exact(value, 0);
    if (r < 0)
        return NULL;
    return PyBool_FromLong(r);
}

static PyMethodDef methods[] = {
    {"orjson_exact", jc_orjson_exact, METH_O,
     "orjson_exact(value) -> whether orjson with sorted keys writes its RFC 8785 form"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_jcscore", "Compiled check of corridor.ledger.jcs.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__jcscore(void)
{
    return PyModule_Create(&module);
}
