/* yedit.h - changes scalars of a YAML text where libyaml found them, and nothing else:
 * comments, key order, quoting and indentation stay byte for byte. The document is
 * never emitted again. */
#ifndef FERRY_YEDIT_H
#define FERRY_YEDIT_H

#include <stddef.h>

#include <yaml.h>

#include "util/util.h"

/* Checks a text before it is parsed for editing: no NUL byte, valid UTF-8, no control
 * character but tab, CR and LF, no bidi override (U+202A..U+202E, U+2066..U+2069: they
 * make a line read differently from what it holds). FX_OK, else code with e saying
 * "file:line: what". */
int yedit_check_text(const char *text, size_t len, const char *file, int code, struct ferr *e);

/* libyaml's marks count characters (CR LF as two), after a byte order mark it skips;
 * edits need byte offsets. The cursor walks the (checked, UTF-8) text forward and
 * starts again from the top when asked for an earlier mark. */
struct yedit_cursor {
	const char *text;
	size_t len, start; /* start: 3 after a UTF-8 byte order mark, else 0 */
	size_t byte, chr;
};
void yedit_cursor_init(struct yedit_cursor *c, const char *text, size_t len);
/* The byte offset of the character at index (libyaml's mark.index); len past the end. */
size_t yedit_byte(struct yedit_cursor *c, size_t index);

/* The text of a scalar that holds value in place of one written in style (a libyaml
 * scalar style): single-quoted stays single-quoted, double-quoted double-quoted, plain
 * stays plain when value reads back as the same string in any context (block or flow),
 * else it becomes double-quoted. Block scalars are not handled (the caller refuses
 * them). Malloc'd. */
char *yedit_scalar(const char *value, yaml_scalar_style_t style);

struct yedit {
	size_t start, end; /* byte range replaced */
	char *text;        /* malloc'd */
};
struct yedit_list {
	struct yedit *v;
	size_t n;
};
/* Adds an edit; text is taken over. */
void yedit_add(struct yedit_list *l, size_t start, size_t end, char *text);
/* The text with every edit applied (they may be added in any order). An edit of an
 * empty range (an empty scalar, `key:` with no value, given one) is set apart by a space
 * from a neighbour that is not blank, so that it reads `key: value` and a comment
 * after it stays one. 0 ok with *out malloc'd (NUL-terminated), -1 when two edits
 * overlap or one lies outside the text. */
int yedit_apply(const char *text, size_t len, struct yedit_list *l, char **out, size_t *outlen);
void yedit_list_free(struct yedit_list *l);

#endif
