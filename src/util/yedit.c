/* yedit.c - scalar edits at libyaml's positions (see yedit.h). */
#include "util/yedit.h"

#include <stdlib.h>
#include <string.h>

#include "util/yamlx.h"

static size_t line_of(const char *text, size_t off)
{
	size_t line = 1, i;

	for (i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

int yedit_check_text(const char *text, size_t len, const char *file, int code, struct ferr *e)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0, n;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len) {
		if (p[i] == '\0')
			return fe_set(e, code, "%s:%zu: a NUL byte: not a text file", ESC(file), line_of(text, i));
		if (p[i] < 0x80) {
			if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') || p[i] == 0x7f)
				return fe_set(e, code, "%s:%zu: control character 0x%02x", ESC(file), line_of(text, i), p[i]);
			i++;
			continue;
		}
		/* fx_utf8_len reads at most up to a byte that is not a continuation byte: the
		 * text's NUL terminator or its end bounds it */
		if (len - i < 4) {
			unsigned char tail[5] = {0};

			memcpy(tail, p + i, len - i);
			n = fx_utf8_len(tail);
		} else {
			n = fx_utf8_len(p + i);
		}
		if (n == 3 && fx_bidi_control(p + i))
			return fe_set(e, code, "%s:%zu: a bidi control character (U+%04X): refused", ESC(file),
			    line_of(text, i), 0x2000u + ((p[i + 1] & 0x3fu) << 6) + (p[i + 2] & 0x3fu));
		if (n == 0)
			return fe_set(e, code, "%s:%zu: not UTF-8", ESC(file), line_of(text, i));
		if (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)
			return fe_set(e, code, "%s:%zu: control character U+%04X", ESC(file), line_of(text, i),
			    (unsigned)p[i + 1]);
		i += n;
	}
	return FX_OK;
}

void yedit_cursor_init(struct yedit_cursor *c, const char *text, size_t len)
{
	c->text = text;
	c->len = len;
	c->start = len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	c->byte = c->start;
	c->chr = 0;
}

size_t yedit_byte(struct yedit_cursor *c, size_t index)
{
	if (index < c->chr) {
		c->byte = c->start;
		c->chr = 0;
	}
	while (c->chr < index && c->byte < c->len) {
		unsigned char b = (unsigned char)c->text[c->byte];
		size_t n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;

		c->byte += n < c->len - c->byte ? n : c->len - c->byte;
		c->chr++;
	}
	return c->byte;
}

/* A plain scalar that starts with a digit and has no '/' or '@' may read as a number,
 * a date or a time in one YAML reader or another. */
static int plain_ok(const char *v)
{
	if (!yplain_safe(v, 1))
		return 0;
	return !(v[0] >= '0' && v[0] <= '9' && strpbrk(v, "/@") == NULL);
}

static int has_control(const char *v)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 1;
	return 0;
}

char *yedit_scalar(const char *value, yaml_scalar_style_t style)
{
	size_t n = strlen(value), i, o = 0;
	char *out;

	if (style == YAML_PLAIN_SCALAR_STYLE && plain_ok(value))
		return xstrdup(value);
	out = xmalloc(4 * n + 3);
	if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE && !has_control(value)) {
		out[o++] = '\'';
		for (i = 0; i < n; i++) {
			if (value[i] == '\'')
				out[o++] = '\'';
			out[o++] = value[i];
		}
		out[o++] = '\'';
		out[o] = '\0';
		return out;
	}
	out[o++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(out + o, 5, "\\x%02x", c);
			o += 4;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

void yedit_add(struct yedit_list *l, size_t start, size_t end, char *text)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].start = start;
	l->v[l->n].end = end;
	l->v[l->n].text = text;
	l->n++;
}

static int edit_cmp(const void *a, const void *b)
{
	const struct yedit *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* An insertion (an empty scalar given a value) is kept apart by a space from a
 * neighbour that is not blank: "key:" + value must read "key: value", and a comment
 * right after it must stay a comment. */
static void pads(const char *text, size_t len, const struct yedit *ed, int *lead, int *trail)
{
	int insert = ed->start == ed->end && ed->text[0] != '\0';

	*lead = insert && ed->start > 0 && !is_blank(text[ed->start - 1]);
	*trail = insert && ed->start < len && !is_blank(text[ed->start]);
}

int yedit_apply(const char *text, size_t len, struct yedit_list *l, char **out, size_t *outlen)
{
	size_t i, at = 0, total = len + 1, o = 0;
	int lead, trail;
	char *buf;

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), edit_cmp);
	for (i = 0; i < l->n; i++) {
		if (l->v[i].start < at || l->v[i].end < l->v[i].start || l->v[i].end > len)
			return -1;
		at = l->v[i].end;
		pads(text, len, &l->v[i], &lead, &trail);
		total += strlen(l->v[i].text) + (size_t)lead + (size_t)trail;
	}
	buf = xmalloc(total);
	at = 0;
	for (i = 0; i < l->n; i++) {
		size_t tl = strlen(l->v[i].text);

		pads(text, len, &l->v[i], &lead, &trail);
		memcpy(buf + o, text + at, l->v[i].start - at);
		o += l->v[i].start - at;
		if (lead)
			buf[o++] = ' ';
		memcpy(buf + o, l->v[i].text, tl);
		o += tl;
		if (trail)
			buf[o++] = ' ';
		at = l->v[i].end;
	}
	memcpy(buf + o, text + at, len - at);
	o += len - at;
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
}

void yedit_list_free(struct yedit_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].text);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
