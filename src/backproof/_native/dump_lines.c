/* The lines of a MariaDB/MySQL dump's data section, counted and searched in C.
 *
 * The twins of two Python calls the dump scanner makes on every byte of a data section
 * (backproof/sources/dump_lines.py): `count_newlines` is `data.count(b"\n", start, end)`, a loop
 * the compiler vectorizes (CPython's counts a byte at a time), and `find_statement_end` is the
 * start of `re.search(rb";\n(?=INSERT INTO |UNLOCK TABLES;\n)", data, start, end)`, found by
 * memchr of each ";". Same results for any arguments, as the Python calls clamp them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static const char NEXT_INSERT[] = "INSERT INTO ";
static const char END_OF_DATA[] = "UNLOCK TABLES;\n";

static Py_ssize_t
count_in(const unsigned char *data, Py_ssize_t size)
{
    Py_ssize_t count = 0;
    /* In blocks whose byte counters cannot overflow, so that the inner loop vectorizes. */
    while (size > 0) {
        Py_ssize_t block = size < 255 * 16 ? size : 255 * 16;
        unsigned char lanes[16] = {0};
        Py_ssize_t index = 0;
        for (; index + 16 <= block; index += 16) {
            for (int lane = 0; lane < 16; lane++) {
                lanes[lane] += data[index + lane] == '\n';
            }
        }
        for (int lane = 0; lane < 16; lane++) {
            count += lanes[lane];
        }
        for (; index < block; index++) {
            count += data[index] == '\n';
        }
        data += block;
        size -= block;
    }
    return count;
}

PyDoc_STRVAR(count_newlines_doc,
"count_newlines(data, start, end) -> int\n\n"
"The newlines in data[start:end]: data.count(b'\\n', start, end).");

static PyObject *
count_newlines(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer buffer;
    Py_ssize_t start, end;
    if (!PyArg_ParseTuple(args, "y*nn", &buffer, &start, &end)) {
        return NULL;
    }
    Py_ssize_t size = buffer.len;
    /* As bytes.count adjusts its indices (negative ones count from the end). */
    if (end > size) {
        end = size;
    }
    else if (end < 0) {
        end = end + size < 0 ? 0 : end + size;
    }
    if (start < 0) {
        start = start + size < 0 ? 0 : start + size;
    }
    Py_ssize_t count = 0;
    if (start < end) {
        Py_BEGIN_ALLOW_THREADS
        count = count_in((const unsigned char *)buffer.buf + start, end - start);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&buffer);
    return PyLong_FromSsize_t(count);
}

static int
has_at(const char *data, Py_ssize_t at, Py_ssize_t end, const char *text, Py_ssize_t size)
{
    return at + size <= end && memcmp(data + at, text, (size_t)size) == 0;
}

PyDoc_STRVAR(find_statement_end_doc,
"find_statement_end(data, start, end) -> int\n\n"
"Where the first ';\\n' followed by 'INSERT INTO ' or 'UNLOCK TABLES;\\n' starts in\n"
"data[start:end] (-1: nowhere), as re.search with pos and endpos finds it.");

static PyObject *
find_statement_end(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer buffer;
    Py_ssize_t start, end;
    if (!PyArg_ParseTuple(args, "y*nn", &buffer, &start, &end)) {
        return NULL;
    }
    /* As re.search clamps pos and endpos (a negative one is 0). */
    Py_ssize_t size = buffer.len;
    start = start < 0 ? 0 : (start > size ? size : start);
    end = end < 0 ? 0 : (end > size ? size : end);
    const char *data = buffer.buf;
    Py_ssize_t found = -1;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t at = start;
    while (at < end) {
        const char *semicolon = memchr(data + at, ';', (size_t)(end - at));
        if (semicolon == NULL) {
            break;
        }
        at = semicolon - data;
        if (has_at(data, at + 1, end, "\n", 1)
            && (has_at(data, at + 2, end, NEXT_INSERT, sizeof(NEXT_INSERT) - 1)
                || has_at(data, at + 2, end, END_OF_DATA, sizeof(END_OF_DATA) - 1))) {
            found = at;
            break;
        }
        at += 1;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buffer);
    return PyLong_FromSsize_t(found);
}

static PyMethodDef methods[] = {
    {"count_newlines", count_newlines, METH_VARARGS, count_newlines_doc},
    {"find_statement_end", find_statement_end, METH_VARARGS, find_statement_end_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT,
    "backproof._native.dump_lines",
    "The lines of a MariaDB/MySQL dump's data section, counted and searched in C.",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit_dump_lines(void)
{
    return PyModule_Create(&module_definition);
}
