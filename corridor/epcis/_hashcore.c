/* Compiled core of corridor.epcis.hash_fast.prehash for the usual event shapes.
 *
 * prehash(event, namespaces) returns the pre-hash string, or None: "use the Python path".
 * The Python module stays the reference: every value or shape this file does not handle
 * itself goes to the same Python renderer hash_fast uses (hash_plan, hash_pieces: passed in
 * by hash_native through configure()), and any exception on the way (hash_pieces.Fallback
 * included) is cleared and gives None, so the Python path computes the result (or raises)
 * exactly as without this module.
 *
 * Per-field caches are the Python dicts of hash_pieces.field_caches, shared with the Python
 * path. Only ASCII strings are converted here; anything else is handed back to Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#include "../_civil_time.h"
#include "../_epcis_tables.h"

/* ---------------------------------------------------------------- configuration */

typedef struct {
    PyObject *name;    /* "epc" */
    PyObject *name_eq; /* "epc=" */
    PyObject *cache;   /* dict raw value -> piece, shared with hash_pieces */
} Field;

#define SLOTS 20
#define TAILS 4
/* plan positions handled in C */
enum {
    P_EVENTTIME = 0, P_TZO = 1, P_CERT = 2, P_PARENT = 3, P_EPC = 4, P_INEPC = 5,
    P_CHILDEPC = 6, P_QTY = 7, P_CHILDQTY = 8, P_INQTY = 9, P_OUTEPC = 10, P_OUTQTY = 11,
    P_ACTION = 12, P_TRANSF = 13, P_BIZSTEP = 14, P_DISP = 15, P_PERSIST = 16,
    P_READPOINT = 17, P_BIZLOC = 18, P_SENSOR = 19,
    T_BTX = 20, T_SRC = 21, T_DST = 22, T_ILMD = 23, K_IGNORED = 30
};

static int configured = 0;
static PyObject *Fallback, *piece_fn, *time_fn, *make_ctx_fn, *setup_fn, *Setup_cls,
    *extension_fn, *has_vocab_fn, *vocab_memo, *vocab_uri_fn, *repl_cache, *repl_fn, *uris_fn,
    *canon_cache, *event_types, *vocab_prefixes, *field_ids, *empty_str, *empty_frozenset;
static PyObject *plan_name[SLOTS], *plan_name_eq[SLOTS], *plan_render[SLOTS], *plan_cache[SLOTS];
static Py_ssize_t cache_limit = 100000;
static PyObject *tail_name[TAILS], *tail_render[TAILS];
static Field F_epc, F_id, F_type, F_btx, F_src, F_dst, F_class, F_qty, F_uom;
static PyObject *S_type, *S_eventTime, *S_action, *S_ns, *S_size, *S_special, *S_strip,
    *S_bizStep, *S_disposition, *S_btt, *S_sdt, *S_persistent, *S_sensors, *S_eventType_eq,
    *S_eventTime_eq, *S_quantityElement, *S_bizTransactionList, *S_sourceList,
    *S_destinationList;

/* ---------------------------------------------------------------- small helpers */

typedef struct {
    char b[512];
    Py_ssize_t n;
    int overflow;
} Buf;

static inline void put(Buf *o, const char *s, Py_ssize_t n) {
    if (n < 0 || o->overflow || n > (Py_ssize_t)sizeof(o->b) - o->n) {
        o->overflow = 1;
        return;
    }
    memcpy(o->b + o->n, s, (size_t)n);
    o->n += n;
}

static inline void putc1(Buf *o, char c) { put(o, &c, 1); }

static inline void puts0(Buf *o, const char *s) { put(o, s, (Py_ssize_t)strlen(s)); }

static PyObject *buf_str(const Buf *o) {
    /* every byte written is ASCII */
    PyObject *r = PyUnicode_New(o->n, 127);
    if (r == NULL) return NULL;
    memcpy(PyUnicode_1BYTE_DATA(r), o->b, (size_t)o->n);
    return r;
}

/* 1: ASCII (data and length set), 0: not ASCII, -1: error */
static int as_ascii(PyObject *s, const char **p, Py_ssize_t *n) {
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(s) < 0) return -1;
#endif
    if (!PyUnicode_IS_ASCII(s)) return 0;
    *p = (const char *)PyUnicode_1BYTE_DATA(s);
    *n = PyUnicode_GET_LENGTH(s);
    return 1;
}

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

static int all_digits(const char *s, Py_ssize_t n) {
    if (n <= 0) return 0; /* str.isdecimal() of "" is False */
    for (Py_ssize_t i = 0; i < n; i++)
        if (!is_digit(s[i])) return 0;
    return 1;
}

static inline int starts(const char *s, Py_ssize_t n, const char *prefix) {
    size_t k = strlen(prefix);
    return (size_t)n >= k && memcmp(s, prefix, k) == 0;
}

static Py_ssize_t find_char(const char *s, Py_ssize_t n, char c) {
    const char *hit = memchr(s, c, (size_t)n);
    return hit ? (Py_ssize_t)(hit - s) : -1;
}

static int contains(const char *s, Py_ssize_t n, const char *needle) {
    Py_ssize_t k = (Py_ssize_t)strlen(needle);
    for (Py_ssize_t i = 0; i + k <= n; i++)
        if (s[i] == needle[0] && memcmp(s + i, needle, (size_t)k) == 0) return 1;
    return 0;
}

static inline int ascii_space(char c) { return Py_UNICODE_ISSPACE((Py_UCS4)(unsigned char)c); }

static int fallback(void) {
    PyErr_SetNone(Fallback);
    return -1;
}

static PyObject *fallback_obj(void) {
    PyErr_SetNone(Fallback);
    return NULL;
}

/* 1 if s starts with any str of the tuple, 0 if not, -1 error */
static int starts_with_any(PyObject *s, PyObject *prefixes) {
    if (!PyTuple_CheckExact(prefixes)) return fallback();
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(prefixes); i++) {
        PyObject *p = PyTuple_GET_ITEM(prefixes, i);
        if (!PyUnicode_CheckExact(p)) return fallback();
        Py_ssize_t r = PyUnicode_Tailmatch(s, p, 0, PY_SSIZE_T_MAX, -1);
        if (r != 0) return r < 0 ? -1 : 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- GS1 identifiers */

/* The tables (prefixes, character sets, check digit) are corridor.epcis.identifiers', from
   _epcis_tables.h; the offsets below are those of hash_dl's rules for these prefixes. */
#define LIT_LEN(lit) ((Py_ssize_t)sizeof(lit) - 1)
_Static_assert(LIT_LEN(EPCIS_SGTIN) == 17 && LIT_LEN(EPCIS_SSCC) == 16
               && LIT_LEN(EPCIS_SGLN) == 16 && LIT_LEN(EPCIS_LGTIN) == 20,
               "the EPC URI prefixes the offsets below are written for");

static inline int check_digit(const char *raw, Py_ssize_t n) {
    return epcis_check_digit(raw, (long)n);
}

static inline int in_table(const unsigned char *table, char c) {
    return (unsigned char)c < 128 && table[(unsigned char)c];
}

static inline int hexin(char c, const char *set) { return c != 0 && strchr(set, c) != NULL; }

/* the TDS character set 82 unit at s[i] (plain or %-escaped): its length, 0 for none */
static int c82_unit(const char *s, Py_ssize_t n, Py_ssize_t i) {
    char c = s[i];
    if (c == '%') {
        if (i + 2 >= n) return 0;
        unsigned char a = (unsigned char)s[i + 1];
        const char *ok = a < 128 ? EPCIS_EPC_ESCAPES[a] : NULL;
        return ok != NULL && hexin(s[i + 2], ok) ? 3 : 0;
    }
    return in_table(EPCIS_EPC_CHAR, c);
}

/* s[start:] is 1..max units of character set 82 */
static int c82_run(const char *s, Py_ssize_t n, Py_ssize_t start, int max) {
    int units = 0;
    Py_ssize_t i = start;
    while (i < n) {
        int k = c82_unit(s, n, i);
        if (k == 0) return 0;
        i += k;
        if (++units > max) return 0;
    }
    return units >= 1;
}

/* Digital Link percent-encoding of the characters EPC URIs may hold raw */
static void put_pct(Buf *o, const char *s, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *escaped = c < 128 ? EPCIS_DL_PERCENT[c] : NULL;
        if (escaped != NULL)
            puts0(o, escaped);
        else
            putc1(o, s[i]);
    }
}

/* GTIN-14 from `prefix.indicator+itemref` (13 digits and the dot at s[start:start+14]) */
static void put_gtin(Buf *o, const char *s, Py_ssize_t start, Py_ssize_t dot) {
    char raw[13];
    Py_ssize_t cp = dot - start;
    raw[0] = s[dot + 1];
    memcpy(raw + 1, s + start, (size_t)cp);
    memcpy(raw + 1 + cp, s + dot + 2, (size_t)(12 - cp));
    put(o, raw, 13);
    putc1(o, (char)('0' + check_digit(raw, 13)));
}

/* Return codes of the converters: 1 converted into o, 0 not an identifier (kept as written),
   2 not handled here (Python decides). */

static int conv_sgtin(const char *s, Py_ssize_t n, Py_ssize_t dot, Buf *o) {
    /* hash_dl._sgtin: prefix.itemref (13 digits), '.' at 31, serial of 1..20 units */
    Py_ssize_t cp = dot - 17;
    if (!(cp >= EPCIS_COMPANY_PREFIX_MIN && cp <= EPCIS_COMPANY_PREFIX_MAX
          && all_digits(s + 17, cp)))
        return 0;
    Py_ssize_t keyend = n < 31 ? n : 31;
    if (!all_digits(s + dot + 1, keyend - dot - 1)) return 0;
    if (n < 32 || s[31] != '.' || !c82_run(s, n, 32, 20)) return 0;
    puts0(o, EPCIS_DL_GTIN);
    put_gtin(o, s, 17, dot);
    puts0(o, EPCIS_DL_SERIAL);
    put_pct(o, s + 32, n - 32);
    return 1;
}

static int conv_sscc(const char *s, Py_ssize_t n, Py_ssize_t dot, Buf *o) {
    Py_ssize_t cp = dot - 16, rest = n - dot - 1;
    if (!(cp >= EPCIS_COMPANY_PREFIX_MIN && cp <= EPCIS_COMPANY_PREFIX_MAX && cp + rest == 17
          && all_digits(s + 16, cp)
          && all_digits(s + dot + 1, rest)))
        return 0;
    char raw[17];
    raw[0] = s[dot + 1];
    memcpy(raw + 1, s + 16, (size_t)cp);
    memcpy(raw + 1 + cp, s + dot + 2, (size_t)(rest - 1));
    puts0(o, EPCIS_DL_SSCC);
    put(o, raw, 17);
    putc1(o, (char)('0' + check_digit(raw, 17)));
    return 1;
}

static int conv_sgln(const char *s, Py_ssize_t n, Py_ssize_t dot, Buf *o) {
    /* hash_dl._sgln: prefix.locationref (12 digits), '.' at 29, extension of 1..20 units */
    Py_ssize_t cp = dot - 16;
    if (!(cp >= EPCIS_COMPANY_PREFIX_MIN && cp <= EPCIS_COMPANY_PREFIX_MAX
          && all_digits(s + 16, cp)))
        return 0;
    if (n < 30 || s[29] != '.') return 0;
    Py_ssize_t reflen = 12 - cp; /* key = s[16:29], ref = key[cp+1:] */
    if (reflen > 0 && !all_digits(s + dot + 1, reflen)) return 0;
    if (!c82_run(s, n, 30, 20)) return 0;
    char raw[12];
    memcpy(raw, s + 16, (size_t)cp);
    memcpy(raw + cp, s + dot + 1, (size_t)reflen);
    puts0(o, EPCIS_DL_GLN);
    put(o, raw, 12);
    putc1(o, (char)('0' + check_digit(raw, 12)));
    if (!(n == 31 && s[30] == '0')) {
        puts0(o, EPCIS_DL_GLN_EXTENSION);
        put_pct(o, s + 30, n - 30);
    }
    return 1;
}

static int conv_lgtin(const char *s, Py_ssize_t n, Py_ssize_t dot, Buf *o) {
    /* the urn:epc:class:lgtin: rule: prefix.itemref (13 digits) '.' lot of 1..20 units */
    Py_ssize_t cp = dot - 20;
    if (!(cp >= EPCIS_COMPANY_PREFIX_MIN && cp <= EPCIS_COMPANY_PREFIX_MAX
          && all_digits(s + 20, cp)))
        return 0;
    if (n < 36 || !all_digits(s + dot + 1, 34 - dot - 1) || s[34] != '.'
        || !c82_run(s, n, 35, 20))
        return 0;
    puts0(o, EPCIS_DL_GTIN);
    put_gtin(o, s, 20, dot);
    puts0(o, EPCIS_DL_LOT);
    put_pct(o, s + 35, n - 35);
    return 1;
}

static int dl_safe_run(const char *s, Py_ssize_t n) {
    if (n < 1 || n > 20) return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (!in_table(EPCIS_DL_CANONICAL, s[i])) return 0;
    return 1;
}

/* the offset after `head` and `len` digits that s starts with, else -1 */
static Py_ssize_t dl_key_end(const char *s, Py_ssize_t n, const char *head, Py_ssize_t len) {
    Py_ssize_t h = (Py_ssize_t)strlen(head);
    if (!starts(s, n, head) || n < h + len || !all_digits(s + h, len)) return -1;
    return h + len;
}

/* s[at:] is `qualifier` and 1..20 characters of a canonical value */
static int dl_qualified(const char *s, Py_ssize_t n, Py_ssize_t at, const char *qualifier) {
    Py_ssize_t q = (Py_ssize_t)strlen(qualifier);
    return n > at + q && starts(s + at, n - at, qualifier) && dl_safe_run(s + at + q, n - at - q);
}

/* hash_dl._ALREADY_CANONICAL (with no '?'): 1 if the URI is its own canonical form */
static int dl_canonical(const char *s, Py_ssize_t n) {
    if (find_char(s, n, '?') >= 0) return 0;
    Py_ssize_t end;
    if ((end = dl_key_end(s, n, EPCIS_DL_GTIN, 14)) >= 0)
        return end == n || dl_qualified(s, n, end, EPCIS_DL_SERIAL)
            || dl_qualified(s, n, end, EPCIS_DL_LOT);
    if ((end = dl_key_end(s, n, EPCIS_DL_SSCC, 18)) >= 0) return end == n;
    if ((end = dl_key_end(s, n, EPCIS_DL_PARTY, 13)) >= 0) return end == n;
    if ((end = dl_key_end(s, n, EPCIS_DL_GLN, 13)) >= 0)
        return end == n || dl_qualified(s, n, end, EPCIS_DL_GLN_EXTENSION);
    return 0;
}

/* hash_dl.normalise for an ASCII, stripped value */
static int normalise(const char *s, Py_ssize_t n, Buf *o) {
    Py_ssize_t dot = find_char(s, n, '.');
    if (dot < 0) return 0;
    if (starts(s, n, EPCIS_SGTIN)) return conv_sgtin(s, n, dot, o);
    if (starts(s, n, EPCIS_SSCC)) return conv_sscc(s, n, dot, o);
    if (starts(s, n, EPCIS_SGLN)) return conv_sgln(s, n, dot, o);
    if (starts(s, n, EPCIS_LGTIN)) return conv_lgtin(s, n, dot, o);
    if (starts(s, n, EPCIS_EPC_URN)) return 2;
    if (starts(s, n, "http")) {
        if (dl_canonical(s, n)) {
            put(o, s, n);
            return 1;
        }
        return 2;
    }
    return 0;
}

/* first characters float() can never accept (hash_values._NOT_NUMERIC) */
static int not_numeric(char c) {
    return c != 0 && strchr("abcdfghjklmopqrstuvwxyzABCDFGHJKLMOPQRSTUVWXYZ:/%#@!?&'\"()[]{}<>",
                            c) != NULL;
}

/* hash_values.canon_uncached of an ASCII, stripped, non-empty text, appended to o:
   1 done, 2 when Python decides (numbers, CBV 1.x URNs, the rarer identifiers) */
static int canon_ascii(const char *s, Py_ssize_t n, Buf *o) {
    if (n == 0 || !not_numeric(s[0])) return 2;
    if (contains(s, n, EPCIS_CBV_URN)) {
        for (int i = 0; i < EPCIS_N_CBV_URNS; i++)
            if (contains(s, n, EPCIS_CBV_URNS[i])) return 2; /* replaced by a web URI first */
    }
    Py_ssize_t before = o->n;
    int r = normalise(s, n, o);
    if (r == 2) return 2;
    if (r == 0) {
        o->n = before;
        put(o, s, n);
    }
    return o->overflow ? 2 : 1;
}

/* ---------------------------------------------------------------- timestamps */

/* hash_values._time_uncached for `...Z` and `...+hh:mm` with 0 or 3 fraction digits:
   1 with out[0:24] set (exactly 24 bytes, no terminator), 0 when Python decides */
static int time_c(const char *s, Py_ssize_t n, char *out) {
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return 0;
    int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2), h = num(s + 11, 2),
        mi = num(s + 14, 2), se = num(s + 17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || se < 0) return 0;
    Py_ssize_t i = 19;
    int ms = 0;
    if (s[i] == '.') {
        if (n < i + 4 || (ms = num(s + i + 1, 3)) < 0) return 0;
        i += 4;
        if (i < n && is_digit(s[i])) return 0; /* more than 3 digits: Python */
    }
    if (i + 1 == n && s[i] == 'Z') {
        /* _PLAIN_UTC, with a date that surely exists */
        if (mo < 1 || mo > 12 || d < 1 || d > 28 || h > 23 || mi > 59 || se > 59) return 0;
        memcpy(out, s, 19);
        out[19] = '.';
        out[20] = (char)('0' + ms / 100);
        out[21] = (char)('0' + ms / 10 % 10);
        out[22] = (char)('0' + ms % 10);
        out[23] = 'Z';
        return 1;
    }
    if (i + 6 != n || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':') return 0;
    int oh = num(s + i + 1, 2), om = num(s + i + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return 0;
    /* what datetime.fromisoformat accepts, away from the ends of its range */
    if (y < 2 || y > 9998 || mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) || h > 23
        || mi > 59 || se > 59)
        return 0;
    int minutes = h * 60 + mi - (s[i] == '+' ? 1 : -1) * (oh * 60 + om);
    roll_day(&y, &mo, &d, &minutes);
    char tmp[32];
    int k = snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d,
                     minutes / 60, minutes % 60, se, ms);
    if (k != 24) return 0;
    memcpy(out, tmp, 24);
    return 1;
}

/* ---------------------------------------------------------------- one event */

typedef struct {
    PyObject *ns;      /* borrowed */
    PyObject *special; /* strong */
    PyObject *uris;    /* strong */
    PyObject *swaps;   /* strong */
    PyObject *ctx;     /* strong, made on first use */
} Ev;

static PyObject *get_ctx(Ev *e) {
    if (e->ctx == NULL)
        e->ctx = PyObject_CallFunctionObjArgs(make_ctx_fn, e->ns, e->swaps, e->uris, NULL);
    return e->ctx;
}

static PyObject *exact_str(PyObject *r) {
    if (r != NULL && !PyUnicode_CheckExact(r)) {
        Py_DECREF(r);
        return fallback_obj();
    }
    return r;
}

static PyObject *call_piece(Ev *e, Field *f, PyObject *v) {
    PyObject *c = get_ctx(e);
    if (c == NULL) return NULL;
    return exact_str(PyObject_CallFunctionObjArgs(piece_fn, f->name, v, c, f->cache, NULL));
}

static PyObject *call_render(Ev *e, PyObject *render, PyObject *v) {
    PyObject *c = get_ctx(e);
    if (c == NULL) return NULL;
    return exact_str(PyObject_CallFunctionObjArgs(render, v, c, NULL));
}

static PyObject *concat(PyObject *a, PyObject *b) { return PyUnicode_Concat(a, b); }

/* hash_pieces.piece of a float: `name=` + canon(str(v)), which for a finite float is
   str(int(v)) when it is integral, else str(v) (float(str(v)) == v; no dot-free identifier
   reads as one) */
static PyObject *float_piece(Ev *e, Field *f, PyObject *v) {
    double d = PyFloat_AS_DOUBLE(v);
    if (!isfinite(d)) return call_piece(e, f, v);
    PyObject *text;
    if (d == floor(d)) {
        PyObject *i = PyLong_FromDouble(d);
        if (i == NULL) return NULL;
        text = PyObject_Str(i);
        Py_DECREF(i);
    } else {
        text = PyObject_Str(v);
    }
    if (text == NULL) return NULL;
    PyObject *r = concat(f->name_eq, text);
    Py_DECREF(text);
    return r;
}

/* hash_pieces.piece: `name=canonical` of one value, through the field's cache */
static PyObject *piece(Ev *e, Field *f, PyObject *v) {
    if (PyFloat_CheckExact(v)) return float_piece(e, f, v);
    if (!PyUnicode_CheckExact(v)) return call_piece(e, f, v);
    if (PyDict_GET_SIZE(e->swaps)) {
        PyObject *uri = PyDict_GetItemWithError(e->swaps, v);
        if (uri != NULL) { /* a bare vocabulary word: its URI, canonical form cached */
            const char *p;
            Py_ssize_t n;
            if (!PyUnicode_CheckExact(uri) || as_ascii(uri, &p, &n) != 1 || n == 0
                || ascii_space(p[0]) || ascii_space(p[n - 1]))
                return call_piece(e, f, v);
            PyObject *canon = PyDict_GetItemWithError(canon_cache, uri);
            if (canon == NULL || !PyUnicode_CheckExact(canon)) {
                if (PyErr_Occurred()) return NULL;
                return call_piece(e, f, v);
            }
            return concat(f->name_eq, canon);
        }
        if (PyErr_Occurred()) return NULL;
    }
    PyObject *hit = PyDict_GetItemWithError(f->cache, v);
    if (hit != NULL) {
        Py_INCREF(hit);
        return exact_str(hit);
    }
    if (PyErr_Occurred()) return NULL;
    int sp = starts_with_any(v, e->special);
    if (sp != 0) return sp < 0 ? NULL : call_piece(e, f, v);
    const char *s;
    Py_ssize_t n;
    int a = as_ascii(v, &s, &n);
    if (a < 0) return NULL;
    if (a == 0 || n == 0 || ascii_space(s[0]) || ascii_space(s[n - 1]))
        return call_piece(e, f, v);
    Buf o;
    o.n = 0;
    o.overflow = 0;
    const char *name;
    Py_ssize_t nl;
    if (as_ascii(f->name_eq, &name, &nl) != 1) return fallback_obj();
    put(&o, name, nl);
    if (canon_ascii(s, n, &o) != 1) return call_piece(e, f, v);
    PyObject *out = buf_str(&o);
    if (out == NULL) return NULL;
    if (PyDict_GET_SIZE(f->cache) >= cache_limit) PyDict_Clear(f->cache);
    if (PyDict_SetItem(f->cache, v, out) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

/* every key an exact str: lookups by str key then run no user code */
static int str_keys(PyObject *d) {
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(d, &pos, &k, &v))
        if (!PyUnicode_CheckExact(k)) return 0;
    return 1;
}

/* "".join(sorted(parts)) with `head` in front, or "" for no parts */
static PyObject *sorted_join(PyObject *head, PyObject *parts) {
    if (PyList_GET_SIZE(parts) == 0) {
        Py_INCREF(empty_str);
        return empty_str;
    }
    if (PyList_GET_SIZE(parts) > 1 && PyList_Sort(parts) < 0) return NULL;
    if (PyList_Insert(parts, 0, head) < 0) return NULL;
    return PyUnicode_Join(empty_str, parts);
}

/* non-empty pieces appended to parts; -1 error */
static int append_nonempty(PyObject *parts, PyObject *p) {
    if (p == NULL) return -1;
    int r = PyUnicode_GET_LENGTH(p) ? PyList_Append(parts, p) : 0;
    Py_DECREF(p);
    return r;
}

static PyObject *render_epcs(Ev *e, int pos, PyObject *v) {
    if (!PyList_CheckExact(v)) return call_render(e, plan_render[pos], v);
    PyObject *parts = PyList_New(0);
    if (parts == NULL) return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
        PyObject *x = PyList_GET_ITEM(v, i);
        Py_INCREF(x);
        PyObject *p = piece(e, &F_epc, x);
        Py_DECREF(x);
        if (append_nonempty(parts, p) < 0) goto fail;
        if (!PyList_CheckExact(v)) goto fail; /* paranoia: the list is not ours */
    }
    PyObject *r = sorted_join(plan_name[pos], parts);
    Py_DECREF(parts);
    return r;
fail:
    Py_DECREF(parts);
    return NULL;
}

static int only_keys(PyObject *d, PyObject *const *names, int count) {
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(d, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k)) return 0;
        int found = 0;
        for (int i = 0; i < count && !found; i++) {
            int eq = PyUnicode_Compare(k, names[i]);
            if (eq == -1 && PyErr_Occurred()) return -1;
            found = eq == 0;
        }
        if (!found) return 0;
    }
    return 1;
}

static PyObject *render_quantities(Ev *e, int pos, PyObject *v) {
    if (!PyList_CheckExact(v)) return call_render(e, plan_render[pos], v);
    PyObject *names[3] = {F_class.name, F_qty.name, F_uom.name};
    Field *fields[3] = {&F_class, &F_qty, &F_uom};
    PyObject *parts = PyList_New(0);
    if (parts == NULL) return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
        PyObject *q = PyList_GET_ITEM(v, i);
        int simple = PyDict_CheckExact(q) && PyDict_GET_SIZE(q) > 0 ? only_keys(q, names, 3) : 0;
        if (simple < 0) goto fail;
        if (!simple) { /* extensions, empty elements, odd shapes: the Python renderer */
            Py_DECREF(parts);
            return call_render(e, plan_render[pos], v);
        }
        Py_INCREF(q);
        PyObject *body = PyList_New(0);
        if (body == NULL) {
            Py_DECREF(q);
            goto fail;
        }
        if (PyList_Append(body, S_quantityElement) < 0) goto fail_q;
        for (int j = 0; j < 3; j++) {
            PyObject *x = PyDict_GetItemWithError(q, names[j]);
            if (x == NULL) {
                if (PyErr_Occurred()) goto fail_q;
                continue;
            }
            Py_INCREF(x);
            PyObject *p = piece(e, fields[j], x);
            Py_DECREF(x);
            if (append_nonempty(body, p) < 0) goto fail_q;
        }
        if (PyList_GET_SIZE(body) > 1) {
            PyObject *joined = PyUnicode_Join(empty_str, body);
            if (joined == NULL || PyList_Append(parts, joined) < 0) {
                Py_XDECREF(joined);
                goto fail_q;
            }
            Py_DECREF(joined);
        }
        Py_DECREF(body);
        Py_DECREF(q);
        continue;
    fail_q:
        Py_DECREF(body);
        Py_DECREF(q);
        goto fail;
    }
    PyObject *r = sorted_join(plan_name[pos], parts);
    Py_DECREF(parts);
    return r;
fail:
    Py_DECREF(parts);
    return NULL;
}

static PyObject *render_location(Ev *e, int pos, PyObject *v) {
    if (!(PyDict_CheckExact(v) && PyDict_GET_SIZE(v) == 1 && str_keys(v)))
        return call_render(e, plan_render[pos], v);
    PyObject *id = PyDict_GetItemWithError(v, F_id.name);
    if (id == NULL) {
        if (PyErr_Occurred()) return NULL;
        return call_render(e, plan_render[pos], v);
    }
    Py_INCREF(id);
    PyObject *body = piece(e, &F_id, id);
    Py_DECREF(id);
    if (body == NULL || PyUnicode_GET_LENGTH(body) == 0) return body;
    PyObject *r = concat(plan_name[pos], body);
    Py_DECREF(body);
    return r;
}

static PyObject *render_party(Ev *e, int t, PyObject *v) {
    Field *member = t == 0 ? &F_btx : t == 1 ? &F_src : &F_dst;
    PyObject *render = tail_render[t];
    if (!PyList_CheckExact(v)) return call_render(e, render, v);
    PyObject *pairs = PyList_New(0);
    if (pairs == NULL) return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
        PyObject *item = PyList_GET_ITEM(v, i);
        if (!PyDict_CheckExact(item) || !str_keys(item)) goto python;
        Py_ssize_t size = PyDict_GET_SIZE(item);
        PyObject *mv = PyDict_GetItemWithError(item, member->name);
        if (mv == NULL) {
            if (PyErr_Occurred()) goto fail;
            goto python;
        }
        PyObject *tv = NULL;
        if (size == 2) {
            tv = PyDict_GetItemWithError(item, S_type);
            if (tv == NULL) {
                if (PyErr_Occurred()) goto fail;
                goto python;
            }
        } else if (size != 1) {
            goto python;
        }
        Py_INCREF(item);
        Py_INCREF(mv);
        Py_XINCREF(tv);
        PyObject *pair = NULL, *a = NULL, *b = NULL;
        if (tv != NULL) {
            a = piece(e, &F_type, tv);
            if (a == NULL) goto fail_item;
            if (PyUnicode_GET_LENGTH(a) == 0) {
                Py_DECREF(a);
                a = S_type;
                Py_INCREF(a);
            }
        }
        b = piece(e, member, mv);
        if (b == NULL) goto fail_item;
        if (PyUnicode_GET_LENGTH(b) == 0) {
            Py_DECREF(b);
            b = member->name;
            Py_INCREF(b);
        }
        pair = a != NULL ? concat(a, b) : (Py_INCREF(b), b);
        if (pair == NULL || PyList_Append(pairs, pair) < 0) goto fail_item;
        Py_DECREF(pair);
        Py_XDECREF(a);
        Py_DECREF(b);
        Py_DECREF(item);
        Py_DECREF(mv);
        Py_XDECREF(tv);
        continue;
    fail_item:
        Py_XDECREF(pair);
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_DECREF(item);
        Py_DECREF(mv);
        Py_XDECREF(tv);
        goto fail;
    }
    PyObject *r = sorted_join(tail_name[t], pairs);
    Py_DECREF(pairs);
    return r;
python:
    Py_DECREF(pairs);
    return call_render(e, render, v);
fail:
    Py_DECREF(pairs);
    return NULL;
}

/* eventTime: `eventTime=<UTC>` */
static PyObject *render_time(Ev *e, PyObject *v) {
    (void)e;
    const char *s;
    Py_ssize_t n;
    int a = as_ascii(v, &s, &n);
    if (a < 0) return NULL;
    PyObject *text;
    if (a == 1 && n > 0 && !ascii_space(s[0]) && !ascii_space(s[n - 1])) {
        char out[34];
        memcpy(out, "eventTime=", 10);
        if (time_c(s, n, out + 10)) {
            PyObject *r = PyUnicode_New(34, 127);
            if (r != NULL) memcpy(PyUnicode_1BYTE_DATA(r), out, 34);
            return r;
        }
        Py_INCREF(v);
        text = v;
    } else {
        text = PyObject_CallMethodNoArgs(v, S_strip);
        if (text == NULL) return NULL;
    }
    if (!PyUnicode_CheckExact(text) || PyUnicode_GET_LENGTH(text) == 0) {
        int ok = PyUnicode_CheckExact(text);
        Py_DECREF(text);
        if (!ok) return fallback_obj();
        Py_INCREF(empty_str);
        return empty_str;
    }
    PyObject *t = exact_str(PyObject_CallOneArg(time_fn, text));
    Py_DECREF(text);
    if (t == NULL) return NULL;
    PyObject *r = concat(S_eventTime_eq, t);
    Py_DECREF(t);
    return r;
}

/* ---- the event's vocabulary URIs (hash_event_uris.event_uris) ---- */

static int add_vocab(PyObject *found, PyObject *kind, PyObject *value) {
    if (value == NULL || value == Py_None || PyList_CheckExact(value)) return 0;
    if (!PyUnicode_CheckExact(value)) return fallback();
    PyObject *memo = PyDict_GetItemWithError(vocab_memo, kind);
    PyObject *uri = NULL;
    if (memo != NULL && PyDict_CheckExact(memo)) {
        uri = PyDict_GetItemWithError(memo, value);
        Py_XINCREF(uri);
    }
    if (uri == NULL) {
        if (PyErr_Occurred()) return -1;
        uri = PyObject_CallFunctionObjArgs(vocab_uri_fn, kind, value, NULL);
        if (uri == NULL) return -1;
    }
    int r = 0;
    if (!PyUnicode_CheckExact(uri))
        r = fallback();
    else if (PyUnicode_GET_LENGTH(uri) > 0)
        r = PySet_Add(found, uri);
    Py_DECREF(uri);
    return r;
}

static PyObject *get(PyObject *d, PyObject *key, int *err) {
    PyObject *v = PyDict_GetItemWithError(d, key);
    if (v == NULL && PyErr_Occurred()) *err = 1;
    return v;
}

static PyObject *event_uris(PyObject *event) {
    int err = 0;
    PyObject *p = get(event, S_persistent, &err);
    PyObject *s = get(event, S_sensors, &err);
    if (err) return NULL;
    if (p != NULL || s != NULL) /* the rarer fields: the Python function */
        return PyObject_CallOneArg(uris_fn, event);
    PyObject *found = PySet_New(NULL);
    if (found == NULL) return NULL;
    PyObject *lists[3] = {S_bizTransactionList, S_sourceList, S_destinationList};
    PyObject *kinds[3] = {S_btt, S_sdt, S_sdt};
    PyObject *v;
    v = get(event, S_bizStep, &err);
    if (err || add_vocab(found, S_bizStep, v) < 0) goto fail;
    v = get(event, S_disposition, &err);
    if (err || add_vocab(found, S_disposition, v) < 0) goto fail;
    for (int i = 0; i < 3; i++) {
        PyObject *items = get(event, lists[i], &err);
        if (err) goto fail;
        if (items == NULL || !PyList_CheckExact(items)) continue;
        Py_INCREF(items);
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(items); j++) {
            PyObject *item = PyList_GET_ITEM(items, j);
            if (!PyDict_CheckExact(item)) continue;
            if (!str_keys(item)) {
                Py_DECREF(items);
                fallback();
                goto fail;
            }
            Py_INCREF(item);
            PyObject *t = get(item, S_type, &err);
            Py_XINCREF(t);
            int r = err ? -1 : add_vocab(found, kinds[i], t);
            Py_XDECREF(t);
            Py_DECREF(item);
            if (r < 0) {
                Py_DECREF(items);
                goto fail;
            }
        }
        Py_DECREF(items);
    }
    if (PySet_GET_SIZE(found) == 0) {
        Py_DECREF(found);
        Py_INCREF(empty_frozenset);
        return empty_frozenset;
    }
    PyObject *r = PyFrozenSet_New(found);
    Py_DECREF(found);
    return r;
fail:
    Py_DECREF(found);
    return NULL;
}

/* a top-level `prefix:name` extension with a plain str value (hash_native._extension_tail):
   1 with *out set, 0 when Python decides, -1 error */
static int extension_c(Ev *e, PyObject *key, Py_ssize_t colon, PyObject *value, PyObject **out) {
    *out = NULL;
    if (!PyUnicode_CheckExact(value) || !PyDict_CheckExact(e->ns) || !str_keys(e->ns)) return 0;
    int sp = starts_with_any(value, e->special);
    if (sp != 0) return sp < 0 ? -1 : 0;
    if (PyDict_GET_SIZE(e->swaps)) {
        int swapped = PyDict_Contains(e->swaps, value);
        if (swapped != 0) return swapped < 0 ? -1 : 0;
    }
    const char *s;
    Py_ssize_t n;
    int a = as_ascii(value, &s, &n);
    if (a <= 0) return a;
    if (n > 0 && (ascii_space(s[0]) || ascii_space(s[n - 1]))) return 0;
    PyObject *prefix = PyUnicode_Substring(key, 0, colon);
    if (prefix == NULL) return -1;
    PyObject *iri = PyDict_GetItemWithError(e->ns, prefix);
    Py_DECREF(prefix);
    if (iri == NULL) return PyErr_Occurred() ? -1 : 0;
    if (!PyUnicode_CheckExact(iri)) return 0;
    PyObject *canon = NULL;
    if (n > 0) {
        canon = PyDict_GetItemWithError(canon_cache, value);
        if (canon != NULL && PyUnicode_CheckExact(canon)) {
            Py_INCREF(canon);
        } else {
            if (PyErr_Occurred()) return -1;
            Buf o;
            o.n = 0;
            o.overflow = 0;
            if (canon_ascii(s, n, &o) != 1) return 0;
            canon = buf_str(&o);
            if (canon == NULL) return -1;
        }
    }
    PyObject *local = PyUnicode_Substring(key, colon + 1, PyUnicode_GET_LENGTH(key));
    if (local == NULL) {
        Py_XDECREF(canon);
        return -1;
    }
    *out = canon ? PyUnicode_FromFormat("{%U}%U=%U", iri, local, canon)
                 : PyUnicode_FromFormat("{%U}%U", iri, local);
    Py_DECREF(local);
    Py_XDECREF(canon);
    return *out ? 1 : -1;
}

/* ---- the event ---- */

static PyObject *prehash_impl(PyObject *event, PyObject *ns) {
    if (!str_keys(event)) return fallback_obj();
    PyObject *etype = PyDict_GetItemWithError(event, S_type);
    if (etype == NULL || !PyUnicode_CheckExact(etype)) return PyErr_Occurred() ? NULL : fallback_obj();
    int in = PySet_Contains(event_types, etype);
    if (in <= 0) return in < 0 ? NULL : fallback_obj();
    int has_time = PyDict_Contains(event, S_eventTime);
    int has_action = has_time ? 1 : PyDict_Contains(event, S_action);
    if (has_time < 0 || has_action < 0) return NULL;
    if (!has_time && !has_action) return fallback_obj();
    Py_INCREF(etype);

    Ev e = {ns, NULL, NULL, NULL, NULL};
    PyObject *slots[SLOTS] = {NULL};
    PyObject *tail = NULL, *result = NULL;

    /* hash_pieces.setup_for(namespaces) when the namespaces are not the ones set up */
    PyObject *cur = PyObject_GetAttr(Setup_cls, S_ns);
    PyObject *size = cur ? PyObject_GetAttr(Setup_cls, S_size) : NULL;
    if (size == NULL) {
        Py_XDECREF(cur);
        goto done;
    }
    Py_ssize_t nslen = PyObject_Size(ns);
    Py_ssize_t have = PyLong_AsSsize_t(size);
    Py_DECREF(size);
    Py_DECREF(cur); /* compared by identity only */
    if (nslen < 0 || (have == -1 && PyErr_Occurred())) goto done;
    if (cur != ns || have != nslen) {
        PyObject *r = PyObject_CallOneArg(setup_fn, ns);
        if (r == NULL) goto done;
        Py_DECREF(r);
    }
    e.special = PyObject_GetAttr(Setup_cls, S_special);
    if (e.special == NULL) goto done;

    e.uris = event_uris(event);
    if (e.uris == NULL) goto done;
    if (!PyFrozenSet_CheckExact(e.uris)) {
        fallback();
        goto done;
    }
    if (PySet_GET_SIZE(e.uris) == 0) {
        e.swaps = PyDict_New();
    } else {
        e.swaps = PyDict_GetItemWithError(repl_cache, e.uris);
        if (e.swaps != NULL)
            Py_INCREF(e.swaps);
        else if (!PyErr_Occurred())
            e.swaps = PyObject_CallOneArg(repl_fn, e.uris);
    }
    if (e.swaps == NULL) goto done;
    if (!PyDict_CheckExact(e.swaps)) {
        fallback();
        goto done;
    }

    tail = PyList_New(0);
    if (tail == NULL) goto done;
    Py_ssize_t it = 0, start_size = PyDict_GET_SIZE(event);
    PyObject *key, *value;
    while (PyDict_Next(event, &it, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) {
            fallback();
            goto done;
        }
        PyObject *idobj = PyDict_GetItemWithError(field_ids, key);
        if (idobj == NULL && PyErr_Occurred()) goto done;
        int id = -1;
        if (idobj != NULL) {
            id = (int)PyLong_AsLong(idobj);
            if (id == -1 && PyErr_Occurred()) goto done;
        }
        Py_INCREF(key);
        Py_INCREF(value);
        PyObject *out = NULL;
        int ok = 1;
        if (id >= 0 && id < SLOTS) {
            int plain = 0;
            if (PyUnicode_CheckExact(value)) {
                int swapped = PyDict_GET_SIZE(e.swaps) ? PyDict_Contains(e.swaps, value) : 0;
                if (swapped < 0) ok = 0;
                plain = swapped == 0;
            }
            if (ok && plain && plan_cache[id] != NULL) {
                PyObject *hit = PyDict_GetItemWithError(plan_cache[id], value);
                if (hit != NULL) {
                    Py_INCREF(hit);
                    out = exact_str(hit);
                    ok = out != NULL;
                    goto store;
                }
                if (PyErr_Occurred()) ok = 0;
            }
            if (!ok) goto store;
            if (id == P_EVENTTIME && plain) {
                int sp = starts_with_any(value, e.special);
                if (sp < 0) {
                    ok = 0;
                    goto store;
                }
                if (sp == 0) {
                    out = render_time(&e, value);
                    ok = out != NULL;
                    goto store;
                }
            }
            switch (id) {
            case P_TZO: case P_PARENT: case P_ACTION: case P_TRANSF: case P_BIZSTEP: case P_DISP: {
                Field f = {plan_name[id], plan_name_eq[id], plan_cache[id]};
                /* piece(name, value, c, cache) is what the scalar renderer does */
                out = plan_cache[id] == NULL ? call_render(&e, plan_render[id], value)
                                             : piece(&e, &f, value);
                break;
            }
            case P_EPC: case P_INEPC: case P_CHILDEPC: case P_OUTEPC:
                out = render_epcs(&e, id, value);
                break;
            case P_QTY: case P_CHILDQTY: case P_INQTY: case P_OUTQTY:
                out = render_quantities(&e, id, value);
                break;
            case P_READPOINT: case P_BIZLOC:
                out = render_location(&e, id, value);
                break;
            default:
                out = call_render(&e, plan_render[id], value);
            }
            ok = out != NULL;
        store:
            if (ok) {
                Py_XSETREF(slots[id], out);
                out = NULL;
            }
        } else if (id >= T_BTX && id <= T_ILMD) {
            out = id == T_ILMD ? call_render(&e, tail_render[3], value)
                               : render_party(&e, id - T_BTX, value);
            ok = out != NULL && append_nonempty(tail, out) == 0;
            out = NULL;
        } else if (id == K_IGNORED) {
            if (PyUnicode_CheckExact(value)) {
                int sp = starts_with_any(value, vocab_prefixes);
                int known = sp == 1 ? PySet_Contains(e.uris, value) : 1;
                if (sp < 0 || known < 0) ok = 0;
                else if (sp == 1 && !known) ok = fallback() == 0;
            } else {
                PyObject *c = get_ctx(&e);
                PyObject *r = c ? PyObject_CallFunctionObjArgs(has_vocab_fn, value, c, NULL) : NULL;
                int t = r ? PyObject_IsTrue(r) : -1;
                Py_XDECREF(r);
                if (t != 0) ok = t < 0 ? 0 : fallback() == 0;
            }
        } else {
            Py_ssize_t colon = PyUnicode_FindChar(key, ':', 0, PY_SSIZE_T_MAX, 1);
            if (colon == -2) {
                ok = 0;
            } else if (colon == -1) {
                ok = fallback() == 0; /* errorDeclaration and anything unknown */
            } else {
                PyObject *piece_out;
                int done = extension_c(&e, key, colon, value, &piece_out);
                PyObject *c = done == 0 ? get_ctx(&e) : NULL;
                PyObject *r = NULL;
                if (done == 1) {
                    r = PyList_New(1);
                    if (r == NULL) Py_DECREF(piece_out);
                    else PyList_SET_ITEM(r, 0, piece_out);
                } else if (c != NULL) {
                    r = PyObject_CallFunctionObjArgs(extension_fn, key, value, c, NULL);
                }
                if (r != NULL && !PyList_CheckExact(r)) {
                    Py_DECREF(r);
                    r = NULL;
                    fallback();
                }
                if (r == NULL) {
                    ok = 0;
                } else {
                    for (Py_ssize_t i = 0; ok && i < PyList_GET_SIZE(r); i++) {
                        PyObject *p = PyList_GET_ITEM(r, i);
                        if (!PyUnicode_CheckExact(p)) ok = fallback() == 0;
                        else ok = PyList_Append(tail, p) == 0;
                    }
                    Py_DECREF(r);
                }
            }
        }
        Py_DECREF(key);
        Py_DECREF(value);
        if (!ok) goto done;
        if (PyDict_GET_SIZE(event) != start_size) { /* changed under us: Python decides */
            fallback();
            goto done;
        }
    }
    if (PyList_GET_SIZE(tail) > 1 && PyList_Sort(tail) < 0) goto done;

    PyObject *all = PyList_New(0);
    if (all == NULL) goto done;
    int bad = PyList_Append(all, S_eventType_eq) < 0 || PyList_Append(all, etype) < 0;
    for (int i = 0; !bad && i < SLOTS; i++)
        if (slots[i] != NULL && PyUnicode_GET_LENGTH(slots[i]))
            bad = PyList_Append(all, slots[i]) < 0;
    for (Py_ssize_t i = 0; !bad && i < PyList_GET_SIZE(tail); i++)
        bad = PyList_Append(all, PyList_GET_ITEM(tail, i)) < 0;
    if (!bad) result = PyUnicode_Join(empty_str, all);
    Py_DECREF(all);

done:
    for (int i = 0; i < SLOTS; i++) Py_XDECREF(slots[i]);
    Py_XDECREF(tail);
    Py_XDECREF(e.special);
    Py_XDECREF(e.uris);
    Py_XDECREF(e.swaps);
    Py_XDECREF(e.ctx);
    Py_DECREF(etype);
    return result;
}

static PyObject *hc_prehash(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "prehash(event, namespaces)");
        return NULL;
    }
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "_hashcore.configure() was not called");
        return NULL;
    }
    if (!PyDict_CheckExact(args[0])) Py_RETURN_NONE;
    PyObject *r = prehash_impl(args[0], args[1]);
    if (r == NULL) {
        /* Fallback or anything else that went wrong: the Python path decides (and raises
           whatever it raises); only non-Exception errors (KeyboardInterrupt, ...) go on */
        if (!PyErr_ExceptionMatches(PyExc_Exception)) return NULL;
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    return r;
}

/* ---------------------------------------------------------------- configure */

static int take(PyObject *cfg, const char *name, PyObject **slot) {
    PyObject *v = PyDict_GetItemString(cfg, name);
    if (v == NULL) {
        PyErr_Format(PyExc_KeyError, "configure: missing %s", name);
        return -1;
    }
    Py_INCREF(v);
    Py_XSETREF(*slot, v);
    return 0;
}

static int intern(PyObject **slot, const char *text) {
    Py_XSETREF(*slot, PyUnicode_InternFromString(text));
    return *slot ? 0 : -1;
}

static int field(Field *f, PyObject *caches, const char *name) {
    if (intern(&f->name, name) < 0) return -1;
    Py_XSETREF(f->name_eq, PyUnicode_FromFormat("%s=", name));
    if (f->name_eq == NULL) return -1;
    PyObject *c = PyDict_GetItemString(caches, name);
    if (c == NULL || !PyDict_CheckExact(c)) {
        PyErr_Format(PyExc_TypeError, "configure: no cache dict for %s", name);
        return -1;
    }
    Py_INCREF(c);
    Py_XSETREF(f->cache, c);
    return 0;
}

static PyObject *hc_configure(PyObject *self, PyObject *cfg) {
    (void)self;
    if (!PyDict_CheckExact(cfg)) {
        PyErr_SetString(PyExc_TypeError, "configure(dict)");
        return NULL;
    }
    configured = 0;
    PyObject *plan = NULL, *tails = NULL, *caches = NULL;
    if (take(cfg, "Fallback", &Fallback) || take(cfg, "piece", &piece_fn)
        || take(cfg, "time_uncached", &time_fn) || take(cfg, "make_ctx", &make_ctx_fn)
        || take(cfg, "setup", &setup_fn) || take(cfg, "Setup", &Setup_cls)
        || take(cfg, "extension", &extension_fn) || take(cfg, "has_vocab_uri", &has_vocab_fn)
        || take(cfg, "vocab_memo", &vocab_memo) || take(cfg, "vocab_uri", &vocab_uri_fn)
        || take(cfg, "replacement_cache", &repl_cache) || take(cfg, "replacements", &repl_fn)
        || take(cfg, "uris", &uris_fn) || take(cfg, "canon_cache", &canon_cache)
        || take(cfg, "event_types", &event_types) || take(cfg, "vocab_prefixes", &vocab_prefixes)
        || take(cfg, "plan", &plan) || take(cfg, "tail", &tails) || take(cfg, "caches", &caches))
        goto fail;
    if (!PyDict_CheckExact(vocab_memo) || !PyDict_CheckExact(repl_cache)
        || !PyDict_CheckExact(canon_cache) || !PyAnySet_Check(event_types)
        || !PyTuple_CheckExact(vocab_prefixes) || !PyList_CheckExact(plan)
        || PyList_GET_SIZE(plan) != SLOTS || !PyList_CheckExact(tails)
        || PyList_GET_SIZE(tails) != TAILS || !PyDict_CheckExact(caches)) {
        PyErr_SetString(PyExc_TypeError, "configure: unexpected shapes");
        goto fail;
    }
    PyObject *limit = PyDict_GetItemString(cfg, "cache_limit");
    if (limit == NULL || (cache_limit = PyLong_AsSsize_t(limit)) < 1) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "configure: cache_limit");
        goto fail;
    }
    Py_XSETREF(field_ids, PyDict_New());
    if (field_ids == NULL) goto fail;
    for (int i = 0; i < SLOTS; i++) {
        PyObject *t = PyList_GET_ITEM(plan, i);
        if (!PyTuple_CheckExact(t) || PyTuple_GET_SIZE(t) != 3
            || !PyUnicode_CheckExact(PyTuple_GET_ITEM(t, 0))) {
            PyErr_SetString(PyExc_TypeError, "configure: plan entries are (name, render, cache)");
            goto fail;
        }
        PyObject *cache = PyTuple_GET_ITEM(t, 2);
        if (cache != Py_None && !PyDict_CheckExact(cache)) {
            PyErr_SetString(PyExc_TypeError, "configure: a cache is a dict or None");
            goto fail;
        }
        Py_INCREF(PyTuple_GET_ITEM(t, 0));
        Py_XSETREF(plan_name[i], PyTuple_GET_ITEM(t, 0));
        Py_INCREF(PyTuple_GET_ITEM(t, 1));
        Py_XSETREF(plan_render[i], PyTuple_GET_ITEM(t, 1));
        Py_XSETREF(plan_cache[i], cache == Py_None ? NULL : (Py_INCREF(cache), cache));
        Py_XSETREF(plan_name_eq[i], PyUnicode_FromFormat("%U=", plan_name[i]));
        if (plan_name_eq[i] == NULL) goto fail;
        PyObject *n = PyLong_FromLong(i);
        if (n == NULL || PyDict_SetItem(field_ids, plan_name[i], n) < 0) {
            Py_XDECREF(n);
            goto fail;
        }
        Py_DECREF(n);
    }
    for (int i = 0; i < TAILS; i++) {
        PyObject *t = PyList_GET_ITEM(tails, i);
        if (!PyTuple_CheckExact(t) || PyTuple_GET_SIZE(t) != 2
            || !PyUnicode_CheckExact(PyTuple_GET_ITEM(t, 0))) {
            PyErr_SetString(PyExc_TypeError, "configure: tail entries are (name, render)");
            goto fail;
        }
        Py_INCREF(PyTuple_GET_ITEM(t, 0));
        Py_XSETREF(tail_name[i], PyTuple_GET_ITEM(t, 0));
        Py_INCREF(PyTuple_GET_ITEM(t, 1));
        Py_XSETREF(tail_render[i], PyTuple_GET_ITEM(t, 1));
        PyObject *n = PyLong_FromLong(T_BTX + i);
        if (n == NULL || PyDict_SetItem(field_ids, tail_name[i], n) < 0) {
            Py_XDECREF(n);
            goto fail;
        }
        Py_DECREF(n);
    }
    static const char *ignored[] = {"recordTime", "eventID", "type", "rdfs:comment", "comment"};
    for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++) {
        PyObject *n = PyLong_FromLong(K_IGNORED);
        if (n == NULL || PyDict_SetItemString(field_ids, ignored[i], n) < 0) {
            Py_XDECREF(n);
            goto fail;
        }
        Py_DECREF(n);
    }
    if (field(&F_epc, caches, "epc") || field(&F_id, caches, "id")
        || field(&F_type, caches, "type") || field(&F_btx, caches, "bizTransaction")
        || field(&F_src, caches, "source") || field(&F_dst, caches, "destination")
        || field(&F_class, caches, "epcClass") || field(&F_qty, caches, "quantity")
        || field(&F_uom, caches, "uom"))
        goto fail;
    if (intern(&S_type, "type") || intern(&S_eventTime, "eventTime")
        || intern(&S_action, "action") || intern(&S_ns, "ns") || intern(&S_size, "size")
        || intern(&S_special, "special") || intern(&S_strip, "strip")
        || intern(&S_bizStep, "bizStep") || intern(&S_disposition, "disposition")
        || intern(&S_btt, "bizTransactionType") || intern(&S_sdt, "sourceDestType")
        || intern(&S_persistent, "persistentDisposition")
        || intern(&S_sensors, "sensorElementList") || intern(&S_eventType_eq, "eventType=")
        || intern(&S_eventTime_eq, "eventTime=")
        || intern(&S_quantityElement, "quantityElement")
        || intern(&S_bizTransactionList, "bizTransactionList")
        || intern(&S_sourceList, "sourceList") || intern(&S_destinationList, "destinationList")
        || intern(&empty_str, ""))
        goto fail;
    Py_XSETREF(empty_frozenset, PyFrozenSet_New(NULL));
    if (empty_frozenset == NULL) goto fail;
    Py_DECREF(plan);
    Py_DECREF(tails);
    Py_DECREF(caches);
    configured = 1;
    Py_RETURN_NONE;
fail:
    Py_XDECREF(plan);
    Py_XDECREF(tails);
    Py_XDECREF(caches);
    return NULL;
}

/* test hook: the C timestamp conversion alone ("" when Python would decide) */
static PyObject *hc_time(PyObject *self, PyObject *arg) {
    (void)self;
    const char *s;
    Py_ssize_t n;
    if (!PyUnicode_CheckExact(arg)) {
        PyErr_SetString(PyExc_TypeError, "str expected");
        return NULL;
    }
    int a = as_ascii(arg, &s, &n);
    if (a < 0) return NULL;
    char out[24];
    if (a == 0 || !time_c(s, n, out)) return PyUnicode_FromString("");
    return PyUnicode_FromStringAndSize(out, 24);
}

static PyMethodDef methods[] = {
    {"prehash", (PyCFunction)(void (*)(void))hc_prehash, METH_FASTCALL,
     "prehash(event, namespaces) -> pre-hash str, or None for the Python path"},
    {"configure", hc_configure, METH_O, "configure(dict): the Python plan, caches, renderers"},
    {"utc_time", hc_time, METH_O, "the C timestamp conversion alone (tests)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_hashcore", "Compiled core of corridor.epcis.hash_fast.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__hashcore(void) { return PyModule_Create(&module); }
