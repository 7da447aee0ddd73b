/* The lines of a MariaDB/MySQL dump's data section, counted and searched in C.
 *
 * The twins of two Python calls the dump scanner makes on every byte of a data section
 * (backproof/sources/dump_lines.py): `count_newlines` is `data.count(b"\n", start, end)`, a loop
 * the compiler vectorizes (CPython's counts a byte at a time), and `find_statement_end` is the
 * start of `re.search(rb";\n(?=INSERT INTO |UNLOCK TABLES;\n)", data, start, end)`, found by
 * memchr of each ";". Same results for any arguments, as the Python calls clamp them.
 *
 * `find_bytes` is `data.find(needle, start, end)` by memmem: the searches of `;\n` (the end of an
 * `INSERT` the parallel import sends) and of the line `UNLOCK TABLES;` in every data section.
 *
 * `match_rows` is the statement guard's check of a data section's rows (backproof/sources/
 * mysql_guard.py): the length of `ROWS.match(rows)`, the possessive regular expression that
 * steps through every byte of the rows, here a byte-class table and memchr. Same results for any
 * bytes (tests/unit/sources/test_mysql_guard_rows.py, against the regular expression).
 */
#define _GNU_SOURCE /* memmem */
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

/* As bytes.count and bytes.find adjust their indices (negative ones count from the end). */
static void
adjust_indices(Py_ssize_t *start, Py_ssize_t *end, Py_ssize_t size)
{
    if (*end > size) {
        *end = size;
    }
    else if (*end < 0) {
        *end = *end + size < 0 ? 0 : *end + size;
    }
    if (*start < 0) {
        *start = *start + size < 0 ? 0 : *start + size;
    }
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
    adjust_indices(&start, &end, size);
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

/* The statement guard's row pattern (backproof/sources/mysql_guard.py, ROWS), matched by hand:
 * the same alternatives tried in the same order at each position, each as possessive as the
 * pattern's (nothing is given back once taken), stopping where none matches. Bytes patterns'
 * classes: \s is [ \t\n\r\f\v], \w is [A-Za-z0-9_]; `.` is any byte but a newline; `^` and `$`
 * (MULTILINE) hold at the start and end of the rows and next to a newline. */
enum { SPACE = 1, WORD = 2, DIGIT = 4, HEX = 8, STRING_STOP = 16 };
static unsigned char classes[256];

static void
set_classes(void)
{
    for (int byte = 0; byte < 256; byte++) {
        unsigned char kind = 0;
        if (strchr(" \t\n\r\f\v(),;+", byte) != NULL && byte != 0) {
            kind |= SPACE;
        }
        if ((byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') || byte == '_') {
            kind |= WORD;
        }
        if (byte >= '0' && byte <= '9') {
            kind |= WORD | DIGIT | HEX;
        }
        if ((byte >= 'a' && byte <= 'f') || (byte >= 'A' && byte <= 'F')) {
            kind |= HEX;
        }
        if (byte == '\'' || byte == '\\' || byte == '\n') {
            kind |= STRING_STOP;
        }
        classes[byte] = kind;
    }
}

#define IS(byte, kind) (classes[(unsigned char)(byte)] & (kind))

/* (?![\w.]) at `at`. */
static int
ends_word(const unsigned char *data, Py_ssize_t at, Py_ssize_t end)
{
    return at >= end || !(IS(data[at], WORD) || data[at] == '.');
}

static int
has_text(const unsigned char *data, Py_ssize_t at, Py_ssize_t end, const char *text)
{
    return has_at((const char *)data, at, end, text, (Py_ssize_t)strlen(text));
}

/* '[^'\\\n]*+(?:\\.[^'\\\n]*+)*+' from the quote at `at`; -1 when it does not match. */
static Py_ssize_t
string_at(const unsigned char *data, Py_ssize_t at, Py_ssize_t end)
{
    Py_ssize_t next = at + 1;
    for (;;) {
        while (next < end && !IS(data[next], STRING_STOP)) {
            next++;
        }
        if (next >= end || data[next] == '\n') {
            return -1;
        }
        if (data[next] == '\'') {
            return next + 1;
        }
        if (next + 1 >= end || data[next + 1] == '\n') {  /* a backslash that escapes nothing */
            return -1;
        }
        next += 2;
    }
}

/* [0-9]++(?:\.[0-9]++)?+(?:[eE][+\-]?+[0-9]++)?+(?![\w.]), or 0x[0-9A-Fa-f]++(?![\w.]). */
static Py_ssize_t
number_at(const unsigned char *data, Py_ssize_t at, Py_ssize_t end)
{
    Py_ssize_t next = at;
    while (next < end && IS(data[next], DIGIT)) {
        next++;
    }
    if (next + 1 < end && data[next] == '.' && IS(data[next + 1], DIGIT)) {
        next += 2;
        while (next < end && IS(data[next], DIGIT)) {
            next++;
        }
    }
    if (next < end && (data[next] == 'e' || data[next] == 'E')) {
        Py_ssize_t exponent = next + 1;
        if (exponent < end && (data[exponent] == '+' || data[exponent] == '-')) {
            exponent++;
        }
        if (exponent < end && IS(data[exponent], DIGIT)) {
            while (exponent < end && IS(data[exponent], DIGIT)) {
                exponent++;
            }
            next = exponent;
        }
    }
    if (ends_word(data, next, end)) {
        return next;
    }
    if (data[at] != '0' || !has_text(data, at + 1, end, "x")) {
        return -1;
    }
    next = at + 2;
    while (next < end && IS(data[next], HEX)) {
        next++;
    }
    return next > at + 2 && ends_word(data, next, end) ? next : -1;
}

/* `[^`]*+(?:``[^`]*+)*+` from the backquote at `at`. */
static Py_ssize_t
name_at(const unsigned char *data, Py_ssize_t at, Py_ssize_t end)
{
    Py_ssize_t next = at + 1;
    for (;;) {
        const unsigned char *quote = memchr(data + next, '`', (size_t)(end - next));
        if (quote == NULL) {
            return -1;
        }
        next = quote - data;
        if (next + 1 < end && data[next + 1] == '`') {
            next += 2;
            continue;
        }
        return next + 1;
    }
}

/* ^/\*!40000 ALTER TABLE `(?:[^`]|``)++` (?:DIS|EN)ABLE KEYS \*\/;$ from `at`. */
static Py_ssize_t
keys_line_at(const unsigned char *data, Py_ssize_t start, Py_ssize_t at, Py_ssize_t end)
{
    static const char head[] = "/*!40000 ALTER TABLE `";
    if ((at != start && data[at - 1] != '\n') || !has_text(data, at, end, head)) {
        return -1;
    }
    Py_ssize_t next = at + (Py_ssize_t)sizeof(head) - 1, name = next;
    for (;;) {
        if (next < end && data[next] != '`') {
            next++;
        }
        else if (next + 1 < end && data[next] == '`' && data[next + 1] == '`') {
            next += 2;
        }
        else {
            break;
        }
    }
    if (next == name || !has_text(data, next, end, "` ")) {
        return -1;
    }
    next += 2;
    if (has_text(data, next, end, "DIS")) {
        next += 3;
    }
    else if (has_text(data, next, end, "EN")) {
        next += 2;
    }
    else {
        return -1;
    }
    if (!has_text(data, next, end, "ABLE KEYS */;")) {
        return -1;
    }
    next += (Py_ssize_t)strlen("ABLE KEYS */;");
    return next == end || data[next] == '\n' ? next : -1;
}

/* One alternative of the pattern at `at`: where it ends, or -1 when none matches. */
static Py_ssize_t
row_item_at(const unsigned char *data, Py_ssize_t start, Py_ssize_t at, Py_ssize_t end)
{
    unsigned char byte = data[at];
    Py_ssize_t next;
    if (byte == '\'') {
        return string_at(data, at, end);
    }
    if (IS(byte, SPACE)) {
        next = at + 1;
        while (next < end && IS(data[next], SPACE)) {
            next++;
        }
        return next;
    }
    switch (byte) {
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return number_at(data, at, end);
    case 'N':
        return has_text(data, at, end, "NULL") && ends_word(data, at + 4, end) ? at + 4 : -1;
    case '-':
        return has_text(data, at + 1, end, "-") ? -1 : at + 1;
    case '`':
        return name_at(data, at, end);
    case 'I':
        next = has_text(data, at, end, "INSERT") ? at + 6
               : has_text(data, at, end, "INTO") ? at + 4 : -1;
        return next >= 0 && ends_word(data, next, end) ? next : -1;
    case 'V':
        return has_text(data, at, end, "VALUES") && ends_word(data, at + 6, end) ? at + 6 : -1;
    case '_':
        return has_text(data, at, end, "_binary") && ends_word(data, at + 7, end) ? at + 7 : -1;
    case 'x': case 'X': case 'b': case 'B':
        return has_text(data, at + 1, end, "'") ? at + 1 : -1;
    case '/':
        return keys_line_at(data, start, at, end);
    default:
        return -1;
    }
}

PyDoc_STRVAR(match_rows_doc,
"match_rows(rows) -> int\n\n"
"How much of rows is row data: the end of the statement guard's ROWS.match(rows).");

static PyObject *
match_rows(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer buffer;
    if (!PyArg_ParseTuple(args, "y*", &buffer)) {
        return NULL;
    }
    const unsigned char *data = buffer.buf;
    Py_ssize_t end = buffer.len, at = 0;
    Py_BEGIN_ALLOW_THREADS
    while (at < end) {
        Py_ssize_t next = row_item_at(data, 0, at, end);
        if (next < 0) {
            break;
        }
        at = next;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buffer);
    return PyLong_FromSsize_t(at);
}

PyDoc_STRVAR(find_bytes_doc,
"find_bytes(data, needle, start, end) -> int\n\n"
"Where needle first starts in data[start:end] (-1: nowhere): data.find(needle, start, end),\n"
"searched by memmem (bytes.find steps through a needle of several bytes far more slowly).");

static PyObject *
find_bytes(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer buffer, needle;
    Py_ssize_t start, end;
    if (!PyArg_ParseTuple(args, "y*y*nn", &buffer, &needle, &start, &end)) {
        return NULL;
    }
    adjust_indices(&start, &end, buffer.len);
    Py_ssize_t found = -1;
    if (end - start >= needle.len) {
        Py_BEGIN_ALLOW_THREADS
        const char *data = buffer.buf;
        const char *at = memmem(data + start, (size_t)(end - start), needle.buf, (size_t)needle.len);
        found = at == NULL ? -1 : at - data;
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&needle);
    PyBuffer_Release(&buffer);
    return PyLong_FromSsize_t(found);
}

static PyMethodDef methods[] = {
    {"count_newlines", count_newlines, METH_VARARGS, count_newlines_doc},
    {"find_statement_end", find_statement_end, METH_VARARGS, find_statement_end_doc},
    {"match_rows", match_rows, METH_VARARGS, match_rows_doc},
    {"find_bytes", find_bytes, METH_VARARGS, find_bytes_doc},
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
    set_classes();
    return PyModule_Create(&module_definition);
}
