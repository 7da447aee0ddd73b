/* The rows of a table's data block in a pg_dump custom archive, found and hashed in C.
 *
 * The same two readers as the pure-Python ones in backproof/sources/copy_rows.py, piece for
 * piece (that module's docstring says what a row is and why there are two): `rows_within`
 * splits the whole buffer at every chunk header and gives up (None) when one of them is a zero
 * length, `rows_to_end` finds the end of the block first and splits what precedes it. A chunk
 * header is a newline, a zero sign byte and `int_size` length bytes, found leftmost first and
 * never overlapping, as `re.split` finds them. Each row is hashed with xxh3 (64 or 128 bits,
 * seed 0: what xxhash.xxh3_64_intdigest / xxh3_128_intdigest give) and the hashes summed
 * modulo 2**bits. The GIL is released while a buffer is read (its bytes object is immutable).
 *
 * xxhash.h is upstream's single header, vendored beside this file (see VENDORED.md).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define XXH_INLINE_ALL
#include "xxhash.h"

#define MAX_INT_SIZE 16

typedef struct {
    Py_ssize_t rows;
    uint64_t low;  /* the sum modulo 2**bits: its low 64 bits */
    uint64_t high; /* and its high 64 bits (128-bit hashes only) */
} Sum;

/* A table's block from where the reader starts, in positions that count the newline the
 * digester puts before a block's first chunk header (so that it looks like the others) without
 * copying the block: at a block's start, position 0 is that newline and data[0] is position 1. */
typedef struct {
    const char *data;
    Py_ssize_t size;        /* in positions: the bytes, and the newline before them */
    Py_ssize_t header_size; /* the newline, the sign byte and int_size length bytes */
    int newline;            /* 1 at a block's start: a newline stands before data */
} Region;

static char
byte_at(const Region *region, Py_ssize_t position)
{
    return position < region->newline ? '\n' : region->data[position - region->newline];
}

/* Return the bytes from `position` (never the newline before a block). */
static const char *
bytes_at(const Region *region, Py_ssize_t position)
{
    return region->data + (position - region->newline);
}

/* Return where the next chunk header at or after `from` starts, or -1 when there is none. */
static Py_ssize_t
next_header(const Region *region, Py_ssize_t from)
{
    Py_ssize_t last_start = region->size - region->header_size;
    while (from <= last_start) {
        Py_ssize_t at = from;
        if (from >= region->newline) {
            const char *newline = memchr(bytes_at(region, from), '\n',
                                         (size_t)(last_start - from + 1));
            if (newline == NULL) {
                return -1;
            }
            at = newline - region->data + region->newline;
        }
        if (byte_at(region, at + 1) == '\0') {
            return at;
        }
        from = at + 1;
    }
    return -1;
}

static int
has_zero_length(const Region *region, Py_ssize_t header)
{
    for (Py_ssize_t index = header + 2; index < header + region->header_size; index++) {
        if (byte_at(region, index) != '\0') {
            return 0;
        }
    }
    return 1;
}

/* Return where the end of the block (a newline and a zero length) starts, or -1. */
static Py_ssize_t
find_block_end(const Region *region)
{
    Py_ssize_t from = 0;
    while ((from = next_header(region, from)) >= 0) {
        if (has_zero_length(region, from)) {
            return from;
        }
        from += 1;
    }
    return -1;
}

static void
add_row(Sum *sum, int bits, const char *row, Py_ssize_t size)
{
    sum->rows += 1;
    if (bits == 64) {
        sum->low += XXH3_64bits(row, (size_t)size);
        return;
    }
    XXH128_hash_t hash = XXH3_128bits(row, (size_t)size);
    uint64_t low = sum->low + hash.low64;
    sum->high += hash.high64 + (low < sum->low);
    sum->low = low;
}

/* Hash the pieces between the chunk headers of `region` (all but the last, which starts at
 * `tail`; at a block's start not the first either: what precedes its first header). Return
 * the number of headers, or -1 when `stop_at_zero` and a header has a zero length. */
static Py_ssize_t
hash_pieces(const Region *region, int bits, int stop_at_zero, Sum *sum, Py_ssize_t *tail)
{
    Py_ssize_t start = 0, headers = 0, header;
    while ((header = next_header(region, start)) >= 0) {
        if (stop_at_zero && has_zero_length(region, header)) {
            return -1;
        }
        if (!(region->newline && headers == 0)) {
            add_row(sum, bits, bytes_at(region, start), header - start);
        }
        headers += 1;
        start = header + region->header_size;
    }
    *tail = start;
    return headers;
}

static PyObject *
sum_to_int(const Sum *sum, int bits)
{
    PyObject *low = PyLong_FromUnsignedLongLong(sum->low);
    if (bits == 64 || low == NULL) {
        return low;
    }
    PyObject *result = NULL, *high = NULL, *shift = NULL, *shifted = NULL;
    high = PyLong_FromUnsignedLongLong(sum->high);
    shift = PyLong_FromLong(64);
    if (high != NULL && shift != NULL) {
        shifted = PyNumber_Lshift(high, shift);
    }
    if (shifted != NULL) {
        result = PyNumber_Or(shifted, low);
    }
    Py_XDECREF(shifted);
    Py_XDECREF(shift);
    Py_XDECREF(high);
    Py_DECREF(low);
    return result;
}

/* One call of a reader: its arguments and what it found. */
typedef struct {
    Py_buffer buffer;
    Region region;
    int bits;
    Sum sum;
} Call;

static int
start_call(PyObject *args, Call *call)
{
    Py_ssize_t start;
    int int_size, at_block_start;
    memset(call, 0, sizeof(*call));
    if (!PyArg_ParseTuple(args, "y*niip", &call->buffer, &start, &int_size, &call->bits,
                          &at_block_start)) {
        return 0;
    }
    if (start < 0 || start > call->buffer.len || int_size < 1 || int_size > MAX_INT_SIZE
        || (call->bits != 64 && call->bits != 128)) {
        PyBuffer_Release(&call->buffer);
        PyErr_SetString(PyExc_ValueError,
                        "start must be inside the buffer, int_size 1 to 16 and bits 64 or 128");
        return 0;
    }
    call->region.data = (const char *)call->buffer.buf + start;
    call->region.newline = at_block_start;
    call->region.size = call->buffer.len - start + at_block_start;
    call->region.header_size = 2 + int_size;
    return 1;
}

/* Return the bytes consumed (not the newline before a block) up to `position`. */
static Py_ssize_t
consumed_bytes(const Region *region, Py_ssize_t position)
{
    return position == 0 ? 0 : position - region->newline;
}

PyDoc_STRVAR(rows_within_doc,
"rows_within(buffer, start, int_size, bits, at_block_start) -> (consumed, rows, total) | None\n\n"
"Hash the complete rows of buffer[start:] inside one table's block; None when the block ends.");

static PyObject *
rows_within(PyObject *Py_UNUSED(module), PyObject *args)
{
    Call call;
    if (!start_call(args, &call)) {
        return NULL;
    }
    Py_ssize_t headers, tail = 0;
    Py_BEGIN_ALLOW_THREADS
    headers = hash_pieces(&call.region, call.bits, 1, &call.sum, &tail);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&call.buffer);
    if (headers < 0) {
        Py_RETURN_NONE;
    }
    PyObject *total = sum_to_int(&call.sum, call.bits);
    if (total == NULL) {
        return NULL;
    }
    Py_ssize_t consumed = headers == 0 ? 0 : consumed_bytes(&call.region, tail);
    return Py_BuildValue("(nnN)", consumed, call.sum.rows, total);
}

PyDoc_STRVAR(rows_to_end_doc,
"rows_to_end(buffer, start, int_size, bits, at_block_start) -> (ended, consumed, rows, total)\n\n"
"Hash the complete rows of a table's block in buffer[start:], its end found first.");

static PyObject *
rows_to_end(PyObject *Py_UNUSED(module), PyObject *args)
{
    Call call;
    if (!start_call(args, &call)) {
        return NULL;
    }
    const Region *region = &call.region;
    Py_ssize_t end, headers, tail = 0;
    Py_BEGIN_ALLOW_THREADS
    end = find_block_end(region);
    if (end >= 0) {
        Region before_end = {region->data, end, region->header_size, region->newline};
        headers = hash_pieces(&before_end, call.bits, 0, &call.sum, &tail);
        /* The last line is a row too, unless it is what precedes a block's first header or
         * COPY's end marker. */
        if (!(region->newline && headers == 0)) {
            const char *last = bytes_at(region, tail);
            if (!(end - tail >= 2 && last[0] == '\\' && last[1] == '.')) {
                add_row(&call.sum, call.bits, last, end - tail);
            }
        }
    }
    else {
        headers = hash_pieces(region, call.bits, 0, &call.sum, &tail);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&call.buffer);
    if (end < 0 && headers == 0) {
        return Py_BuildValue("(Onnn)", Py_False, (Py_ssize_t)0, (Py_ssize_t)0, (Py_ssize_t)0);
    }
    PyObject *total = sum_to_int(&call.sum, call.bits);
    if (total == NULL) {
        return NULL;
    }
    Py_ssize_t consumed = consumed_bytes(region, end >= 0 ? end + region->header_size : tail);
    return Py_BuildValue("(OnnN)", end >= 0 ? Py_True : Py_False, consumed, call.sum.rows, total);
}

static PyMethodDef methods[] = {
    {"rows_within", rows_within, METH_VARARGS, rows_within_doc},
    {"rows_to_end", rows_to_end, METH_VARARGS, rows_to_end_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT,
    "backproof._native.copy_rows",
    "The rows of a pg_dump table data block, found and hashed in C (see copy_rows.c).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit_copy_rows(void)
{
    return PyModule_Create(&module_definition);
}
