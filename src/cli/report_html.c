/* report_html.c - the report's model as one self-contained HTML page.
 *
 * No network and nothing outside the file: inline CSS, an inline SVG chart, and a short
 * script that only filters and sorts tables (the page reads the same without it). A
 * Content-Security-Policy admits exactly that style and that script by their SHA-256,
 * and nothing else: no fetch, no image from elsewhere, no other script.
 *
 * Every string that comes from a bundle goes through text(): control bytes, invalid
 * UTF-8 and bidi overrides are made visible first (fx_esc, as on a terminal), then & < >
 * " ' become entities, so the same function serves element text and attribute values. */
#include "cli/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/digest.h"

struct html {
	char *s;
	size_t len, cap;
};

static void raw(struct html *h, const char *s)
{
	size_t n = strlen(s);

	if (h->len + n + 1 > h->cap) {
		while (h->len + n + 1 > h->cap)
			h->cap = h->cap ? h->cap * 2 : 65536;
		h->s = xrealloc(h->s, h->cap);
	}
	memcpy(h->s + h->len, s, n + 1);
	h->len += n;
}

/* Only ferry's own words and numbers go through a format. */
static void fmt(struct html *h, const char *f, ...) __attribute__((format(printf, 2, 3)));

static void fmt(struct html *h, const char *f, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	raw(h, buf);
}

/* Untrusted text, escaped for element content and attribute values alike. */
static void text(struct html *h, const char *s)
{
	size_t n, cap;
	char *vis, *p, one[2] = {0, 0};

	if (s == NULL) {
		raw(h, "&ndash;");
		return;
	}
	n = strlen(s);
	cap = 4 * n + 1;
	vis = xmalloc(cap);
	fx_esc(s, vis, cap);
	for (p = vis; *p != '\0'; p++) {
		switch (*p) {
		case '&': raw(h, "&amp;"); break;
		case '<': raw(h, "&lt;"); break;
		case '>': raw(h, "&gt;"); break;
		case '"': raw(h, "&quot;"); break;
		case '\'': raw(h, "&#39;"); break;
		default:
			one[0] = *p;
			raw(h, one);
		}
	}
	free(vis);
}

static void jtext(struct html *h, const json_t *o, const char *key)
{
	text(h, jget_str(o, key));
}

static void size_cell(struct html *h, json_int_t n)
{
	char b[32];

	fmt(h, "<td class=\"num\" title=\"%lld bytes\">%s</td>", (long long)n, fmt_bytes((uint64_t)n, b, sizeof(b)));
}

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f24;margin:0 auto;"
    "max-width:1200px;padding:0 24px 48px}"
    "h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;"
    "padding-bottom:4px}h3{font-size:16px;margin:20px 0 6px}h4{font-size:14px;margin:14px 0 4px}"
    ".meta{color:#57606a;margin:0 0 8px}"
    ".verdict{border-left:10px solid;padding:10px 16px;margin:16px 0;border-radius:4px}"
    ".verdict h2{border:0;margin:4px 0 8px;font-size:20px}"
    ".verdict.ok{border-color:#1a7f37;background:#e6f4ea}.verdict.ok h2{color:#1a7f37}"
    ".verdict.bad{border-color:#c62828;background:#fdecea}.verdict.bad h2{color:#c62828}"
    ".verdict.warn{border-color:#b26a00;background:#fff4e0}.verdict.warn h2{color:#b26a00}"
    "table{border-collapse:collapse;margin:6px 0 12px;width:100%}"
    "th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #e4e8ec;vertical-align:top}"
    "th{background:#f3f5f7;font-weight:600}table.kv th{width:180px;background:none}"
    "td.num{text-align:right;white-space:nowrap}code,.digest{font-family:ui-monospace,Menlo,monospace;"
    "font-size:12px;word-break:break-all}"
    ".bad-text{color:#c62828;font-weight:600}.ok-text{color:#1a7f37}.warn-text{color:#b26a00;font-weight:600}"
    "table.sortable th{cursor:pointer}input.filter{margin:4px 0;padding:3px 6px;width:280px}"
    "ul{margin:2px 0;padding-left:20px}"
    "@media print{input.filter{display:none}body{max-width:none;padding:0}tr{page-break-inside:avoid}"
    "h2,h3{page-break-after:avoid}}";

static const char script[] =
    "document.querySelectorAll('input.filter').forEach(function(inp){"
    "var t=document.getElementById(inp.getAttribute('data-table'));"
    "inp.addEventListener('input',function(){var q=inp.value.toLowerCase();"
    "Array.prototype.forEach.call(t.tBodies[0].rows,function(r){"
    "r.hidden=r.textContent.toLowerCase().indexOf(q)<0;});});});"
    "document.querySelectorAll('table.sortable th').forEach(function(th){"
    "th.addEventListener('click',function(){var tb=th.closest('table').tBodies[0],i=th.cellIndex,"
    "up=th.getAttribute('data-up')!=='1',rows=Array.prototype.slice.call(tb.rows);"
    "th.parentNode.querySelectorAll('th').forEach(function(h){h.removeAttribute('data-up');});"
    "if(up)th.setAttribute('data-up','1');"
    "rows.sort(function(a,b){var x=a.cells[i].textContent,y=b.cells[i].textContent;"
    "return (up?1:-1)*x.localeCompare(y,undefined,{numeric:true});});"
    "rows.forEach(function(r){tb.appendChild(r);});});});";

/* 'sha256-<base64>' of an inline style or script, for the Content-Security-Policy. */
static void csp_hash(const char *s, char out[64])
{
	unsigned char d[SHA256_LEN];
	unsigned char b64[48];

	sha256_buf(s, strlen(s), d);
	EVP_EncodeBlock(b64, d, SHA256_LEN);
	snprintf(out, 64, "'sha256-%s'", (const char *)b64);
}

/* ---- sections */

static void verdict_section(struct html *h, const json_t *m)
{
	const json_t *v = json_object_get(m, "verdict"), *sig = json_object_get(v, "signature");
	const json_t *ents = json_object_get(v, "entries"), *nc = json_object_get(v, "notChecked"), *x;
	const char *state = jget_str(sig, "state");
	int trusted = json_is_true(json_object_get(v, "trusted"));
	int unsigned_ok = !trusted && json_object_get(v, "error") == NULL && json_object_get(m, "bundle") != NULL &&
	    state != NULL && strcmp(state, "good") != 0;
	size_t i;

	fmt(h, "<section id=\"verdict\" class=\"verdict %s\">\n<h2>", trusted ? "ok" : unsigned_ok ? "warn" : "bad");
	jtext(h, v, "summary");
	raw(h, "</h2>\n<table class=\"kv\">\n<tr><th>Signature</th><td>");
	fmt(h, "<span class=\"%s\">", state != NULL && strcmp(state, "good") == 0 ? "ok-text" : "bad-text");
	text(h, state);
	raw(h, "</span>");
	if (jget_str(sig, "fingerprint") != NULL) {
		raw(h, " &middot; signer <code>");
		jtext(h, sig, "fingerprint");
		raw(h, "</code> ");
		jtext(h, sig, "uid");
		raw(h, " &middot; signed ");
		jtext(h, sig, "signed");
	}
	raw(h, "</td></tr>\n<tr><th>Entries</th><td>");
	if (json_object_get(m, "bundle") == NULL)
		raw(h, "<span class=\"bad-text\">not read: the signed head did not verify</span>");
	else
		fmt(h, "%lld verified, <span class=\"%s\">%lld bad, %lld missing, %lld extra</span>",
		    (long long)jget_int(ents, "ok"),
		    jget_int(ents, "bad") + jget_int(ents, "missing") + jget_int(ents, "extra") ? "bad-text" : "ok-text",
		    (long long)jget_int(ents, "bad"), (long long)jget_int(ents, "missing"), (long long)jget_int(ents, "extra"));
	raw(h, "</td></tr>\n");
	if (jget_str(v, "error") != NULL) {
		raw(h, "<tr><th>Reason</th><td class=\"bad-text\">");
		jtext(h, v, "error");
		raw(h, "</td></tr>\n");
	}
	raw(h, "<tr><th>Not checked</th><td><ul>");
	json_array_foreach(nc, i, x) {
		raw(h, "<li>");
		text(h, json_string_value(x));
		raw(h, "</li>");
	}
	raw(h, "</ul></td></tr>\n</table>\n</section>\n");
}

static void kv(struct html *h, const char *label, const char *value)
{
	if (value == NULL)
		return;
	fmt(h, "<tr><th>%s</th><td>", label);
	text(h, value);
	raw(h, "</td></tr>\n");
}

static void bundle_section(struct html *h, const json_t *b)
{
	raw(h, "<section id=\"bundle\"><h2>Bundle</h2>\n<table class=\"kv\">\n");
	kv(h, "Name", jget_str(b, "name"));
	kv(h, "Version", jget_str(b, "version"));
	kv(h, "Vendor", jget_str(b, "vendor"));
	kv(h, "Description", jget_str(b, "description"));
	kv(h, "Created", jget_str(b, "created"));
	kv(h, "Made by", jget_str(b, "tool"));
	kv(h, "Compression", jget_str(b, "compression"));
	fmt(h, "<tr><th>Entries</th><td>%lld</td></tr>\n", (long long)jget_int(b, "entries"));
	raw(h, "</table></section>\n");
}

/* Sizes per image as horizontal bars: the layers shared with other images in grey. */
static void size_chart(struct html *h, const json_t *images)
{
	json_int_t max = 1;
	size_t i, n = json_array_size(images);
	const json_t *im;
	char b[32];

	json_array_foreach(images, i, im)
		if (jget_int(im, "size") > max)
			max = jget_int(im, "size");
	fmt(h, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"860\" height=\"%zu\" role=\"img\" "
	    "aria-label=\"image sizes\">\n", n * 26 + 30);
	json_array_foreach(images, i, im) {
		double total = (double)jget_int(im, "size"), shared = (double)jget_int(im, "sharedLayerBytes");
		int wt = (int)(460.0 * total / (double)max), ws = (int)(460.0 * (shared < total ? shared : total) / (double)max);
		int y = (int)i * 26 + 4;
		fmt(h, "<text x=\"0\" y=\"%d\" font-size=\"12\" font-family=\"sans-serif\">", y + 14);
		text(h, jget_str(im, "ref"));
		raw(h, "</text>");
		fmt(h, "<rect x=\"300\" y=\"%d\" width=\"%d\" height=\"18\" fill=\"#3b6ea5\"/>", y, wt > 1 ? wt : 1);
		if (ws > 0)
			fmt(h, "<rect x=\"300\" y=\"%d\" width=\"%d\" height=\"18\" fill=\"#9aa5b1\"/>", y, ws);
		fmt(h, "<text x=\"%d\" y=\"%d\" font-size=\"12\" font-family=\"sans-serif\">%s</text>\n", 306 + wt, y + 14,
		    fmt_bytes((uint64_t)total, b, sizeof(b)));
	}
	fmt(h, "<rect x=\"300\" y=\"%zu\" width=\"12\" height=\"12\" fill=\"#3b6ea5\"/><text x=\"316\" y=\"%zu\" "
	    "font-size=\"12\" font-family=\"sans-serif\">own layers</text><rect x=\"420\" y=\"%zu\" width=\"12\" "
	    "height=\"12\" fill=\"#9aa5b1\"/><text x=\"436\" y=\"%zu\" font-size=\"12\" font-family=\"sans-serif\">"
	    "layers shared with other images (stored once)</text>\n</svg>\n", n * 26 + 12, n * 26 + 22, n * 26 + 12,
	    n * 26 + 22);
}

static void string_list(struct html *h, const json_t *a, const char *sep)
{
	size_t i;
	const json_t *x;

	json_array_foreach(a, i, x) {
		if (i > 0)
			raw(h, sep);
		text(h, json_string_value(x));
	}
}

static void packages_table(struct html *h, const json_t *s, const char *id)
{
	const json_t *pk = json_object_get(s, "packages"), *p;
	size_t i;

	if (json_array_size(pk) == 0)
		return;
	fmt(h, "<input class=\"filter\" type=\"search\" placeholder=\"filter packages\" data-table=\"%s\">\n", id);
	fmt(h, "<table class=\"sortable\" id=\"%s\"><thead><tr><th>Name</th><th>Version</th><th>Arch</th><th>Type</th>"
	    "<th>Licence</th></tr></thead>\n<tbody>\n", id);
	json_array_foreach(pk, i, p) {
		raw(h, "<tr><td>");
		jtext(h, p, "name");
		raw(h, "</td><td>");
		jtext(h, p, "version");
		raw(h, "</td><td>");
		jtext(h, p, "arch");
		raw(h, "</td><td>");
		jtext(h, p, "type");
		raw(h, "</td><td>");
		if (json_array_size(json_object_get(p, "licenses")) == 0)
			raw(h, "<span class=\"warn-text\">unknown</span>");
		string_list(h, json_object_get(p, "licenses"), ", ");
		raw(h, "</td></tr>\n");
	}
	raw(h, "</tbody></table>\n");
}

static void sbom_block(struct html *h, const json_t *s, size_t img, size_t k)
{
	const json_t *notes = json_object_get(s, "notes"), *x;
	const char *status = jget_str(s, "status");
	char id[48];
	size_t i;

	raw(h, "<h4>");
	text(h, jget_str(s, "platform") != NULL ? jget_str(s, "platform") : "platform unknown");
	raw(h, " &middot; ");
	text(h, jget_str(s, "os") != NULL ? jget_str(s, "os") : "OS unknown");
	raw(h, "</h4>\n");
	if (jget_str(s, "error") != NULL) {
		raw(h, "<p class=\"bad-text\">SBOM ");
		jtext(h, s, "path");
		raw(h, ": ");
		jtext(h, s, "error");
		raw(h, "</p>\n");
		return;
	}
	fmt(h, "<p><strong>%lld packages</strong> &middot; catalogue: <span class=\"%s\">", (long long)jget_int(s, "packageCount"),
	    status != NULL && strcmp(status, "complete") == 0 ? "ok-text" : "warn-text");
	text(h, status != NULL && strcmp(status, "no package database found") == 0 ? "no package database found" : status);
	raw(h, "</span>");
	if (json_array_size(json_object_get(s, "databases")) > 0) {
		raw(h, " &middot; from ");
		string_list(h, json_object_get(s, "databases"), ", ");
	}
	raw(h, " &middot; manifest <code>");
	jtext(h, s, "manifest");
	raw(h, "</code></p>\n");
	json_array_foreach(notes, i, x) {
		raw(h, "<p class=\"warn-text\">Note: ");
		text(h, json_string_value(x));
		raw(h, "</p>\n");
	}
	snprintf(id, sizeof(id), "pkgs-%zu-%zu", img, k);
	packages_table(h, s, id);
}

static void image_detail(struct html *h, const json_t *im, size_t idx)
{
	const json_t *layers = json_object_get(im, "layers"), *sboms = json_object_get(im, "sboms"), *l, *s;
	size_t i;

	raw(h, "<section class=\"image\"><h3>");
	jtext(h, im, "ref");
	raw(h, "</h3>\n<table class=\"kv\">\n<tr><th>Digest</th><td><code>");
	jtext(h, im, "digest");
	raw(h, "</code></td></tr>\n");
	kv(h, "Media type", jget_str(im, "mediaType"));
	raw(h, "<tr><th>Platforms</th><td>");
	string_list(h, json_object_get(im, "platforms"), ", ");
	raw(h, "</td></tr>\n");
	if (jget_int(im, "blobsNotVerified") > 0)
		fmt(h, "<tr><th>Blobs</th><td class=\"bad-text\">%lld did not verify</td></tr>\n",
		    (long long)jget_int(im, "blobsNotVerified"));
	raw(h, "</table>\n");
	if (json_array_size(layers) > 0) {
		raw(h, "<table><thead><tr><th>Layer</th><th>Size</th><th>Media type</th><th>Shared with</th></tr></thead>\n<tbody>\n");
		json_array_foreach(layers, i, l) {
			raw(h, "<tr><td class=\"digest\">");
			jtext(h, l, "digest");
			raw(h, "</td>");
			size_cell(h, jget_int(l, "size"));
			raw(h, "<td>");
			jtext(h, l, "mediaType");
			raw(h, "</td><td>");
			string_list(h, json_object_get(l, "sharedWith"), ", ");
			raw(h, "</td></tr>\n");
		}
		raw(h, "</tbody></table>\n");
	}
	if (json_array_size(sboms) == 0)
		raw(h, "<p class=\"warn-text\">No SBOM in the bundle for this image (packed with --no-sbom).</p>\n");
	json_array_foreach(sboms, i, s)
		sbom_block(h, s, idx, i);
	raw(h, "</section>\n");
}

static void images_section(struct html *h, const json_t *images)
{
	const json_t *im, *s;
	size_t i, k;

	fmt(h, "<section id=\"images\"><h2>Images (%zu)</h2>\n", json_array_size(images));
	if (json_array_size(images) == 0) {
		raw(h, "<p>None.</p></section>\n");
		return;
	}
	raw(h, "<table><thead><tr><th>Reference</th><th>Digest</th><th>Platforms</th><th>Size</th><th>Layers</th>"
	    "<th>Shared</th><th>Packages</th></tr></thead>\n<tbody>\n");
	json_array_foreach(images, i, im) {
		raw(h, "<tr><td>");
		jtext(h, im, "ref");
		raw(h, "</td><td class=\"digest\">");
		jtext(h, im, "digest");
		raw(h, "</td><td>");
		string_list(h, json_object_get(im, "platforms"), ", ");
		raw(h, "</td>");
		size_cell(h, jget_int(im, "size"));
		fmt(h, "<td class=\"num\">%lld</td>", (long long)jget_int(im, "layerCount"));
		size_cell(h, jget_int(im, "sharedLayerBytes"));
		raw(h, "<td>");
		json_array_foreach(json_object_get(im, "sboms"), k, s) {
			if (k > 0)
				raw(h, ", ");
			if (json_object_get(s, "error") != NULL)
				raw(h, "<span class=\"bad-text\">not verified</span>");
			else
				fmt(h, "%lld", (long long)jget_int(s, "packageCount"));
		}
		raw(h, "</td></tr>\n");
	}
	raw(h, "</tbody></table>\n");
	size_chart(h, images);
	json_array_foreach(images, i, im)
		image_detail(h, im, i);
	raw(h, "</section>\n");
}

static void entry_cells(struct html *h, const json_t *o)
{
	const char *v = jget_str(o, "verdict");

	raw(h, "<td class=\"digest\">");
	jtext(h, o, "sha256");
	raw(h, "</td>");
	size_cell(h, jget_int(o, "size"));
	fmt(h, "<td class=\"%s\">", v != NULL && strcmp(v, "ok") == 0 ? "ok-text" : "bad-text");
	text(h, v);
	raw(h, "</td>");
}

static void items_section(struct html *h, const char *id, const char *title, const json_t *items, const char *extra_key,
    const char *extra_title)
{
	const json_t *o;
	size_t i;

	fmt(h, "<section id=\"%s\"><h2>%s (%zu)</h2>\n", id, title, json_array_size(items));
	if (json_array_size(items) == 0) {
		raw(h, "<p>None.</p></section>\n");
		return;
	}
	raw(h, "<table><thead><tr><th>Path</th>");
	if (extra_key != NULL)
		fmt(h, "<th>%s</th>", extra_title);
	raw(h, "<th>SHA-256</th><th>Size</th><th>Hash</th></tr></thead>\n<tbody>\n");
	json_array_foreach(items, i, o) {
		raw(h, "<tr><td>");
		jtext(h, o, "path");
		raw(h, "</td>");
		if (extra_key != NULL && strcmp(extra_key, "name") == 0) {
			raw(h, "<td>");
			jtext(h, o, "name");
			raw(h, " ");
			jtext(h, o, "version");
			raw(h, "</td>");
		} else if (extra_key != NULL) {
			raw(h, "<td>");
			jtext(h, o, extra_key);
			raw(h, "</td>");
		}
		entry_cells(h, o);
		raw(h, "</tr>\n");
	}
	raw(h, "</tbody></table></section>\n");
}

static void license_section(struct html *h, const json_t *lic)
{
	const json_t *l;
	size_t i;

	fmt(h, "<section id=\"license\"><h2>Licenses (%zu)</h2>\n", json_array_size(lic));
	if (json_array_size(lic) == 0) {
		raw(h, "<p>None.</p></section>\n");
		return;
	}
	json_array_foreach(lic, i, l) {
		const char *v = jget_str(l, "verdict");
		raw(h, "<table class=\"kv\">\n");
		kv(h, "File", jget_str(l, "path"));
		raw(h, "<tr><th>Verdict</th><td>");
		fmt(h, "<span class=\"%s\">", v != NULL && (strcmp(v, "valid") == 0) ? "ok-text" :
		    v != NULL && strcmp(v, "not checked") == 0 ? "warn-text" : "bad-text");
		text(h, v);
		raw(h, "</span>");
		if (jget_str(l, "reason") != NULL) {
			raw(h, ": ");
			jtext(h, l, "reason");
		}
		raw(h, "</td></tr>\n");
		kv(h, "Subject", jget_str(l, "subject"));
		kv(h, "Customer", jget_str(l, "customer"));
		kv(h, "Edition", jget_str(l, "edition"));
		kv(h, "Audience", jget_str(l, "audience"));
		if (json_is_integer(json_object_get(l, "seats")))
			fmt(h, "<tr><th>Seats</th><td>%lld</td></tr>\n", (long long)jget_int(l, "seats"));
		kv(h, "Expires", jget_str(l, "expires"));
		raw(h, "</table>\n");
	}
	raw(h, "</section>\n");
}

static void change_list(struct html *h, const char *title, const json_t *a, int versions)
{
	const json_t *p;
	size_t i;

	if (json_array_size(a) == 0)
		return;
	fmt(h, "<tr><th>%s (%zu)</th><td>", title, json_array_size(a));
	json_array_foreach(a, i, p) {
		if (i > 0)
			raw(h, "<br>");
		if (json_is_string(p)) {
			text(h, json_string_value(p));
			continue;
		}
		if (jget_str(p, "from") != NULL && jget_str(p, "to") != NULL && jget_str(p, "name") == NULL) {
			jtext(h, p, "ref");
			raw(h, ": <code>");
			jtext(h, p, "from");
			raw(h, "</code> &rarr; <code>");
			jtext(h, p, "to");
			raw(h, "</code>");
			continue;
		}
		jtext(h, p, "name");
		raw(h, " ");
		if (versions) {
			jtext(h, p, "from");
			raw(h, " &rarr; ");
			jtext(h, p, "to");
		} else {
			jtext(h, p, "version");
		}
		if (jget_str(p, "arch") != NULL) {
			raw(h, " (");
			jtext(h, p, "arch");
			raw(h, ")");
		}
	}
	raw(h, "</td></tr>\n");
}

static void comparison_section(struct html *h, const json_t *c)
{
	const json_t *imgs = json_object_get(c, "images"), *pk = json_object_get(c, "packages"), *d;
	size_t i;

	raw(h, "<section id=\"comparison\"><h2>Changes since ");
	jtext(h, c, "against");
	raw(h, "</h2>\n<p>Older bundle: ");
	jtext(h, c, "name");
	raw(h, " ");
	jtext(h, c, "version");
	raw(h, " &middot; ");
	fmt(h, "<span class=\"%s\">", json_is_true(json_object_get(c, "trusted")) ? "ok-text" : "bad-text");
	jtext(h, c, "summary");
	raw(h, "</span></p>\n");
	if (jget_str(c, "error") != NULL) {
		raw(h, "<p class=\"bad-text\">");
		jtext(h, c, "error");
		raw(h, "</p></section>\n");
		return;
	}
	raw(h, "<table class=\"kv\">\n");
	change_list(h, "Images added", json_object_get(imgs, "added"), 0);
	change_list(h, "Images removed", json_object_get(imgs, "removed"), 0);
	change_list(h, "Images changed", json_object_get(imgs, "changed"), 0);
	change_list(h, "Images unchanged", json_object_get(imgs, "unchanged"), 0);
	raw(h, "</table>\n");
	json_array_foreach(pk, i, d) {
		raw(h, "<h3>Packages of ");
		jtext(h, d, "ref");
		raw(h, " ");
		jtext(h, d, "platform");
		raw(h, "</h3>\n");
		if (jget_str(d, "note") != NULL) {
			raw(h, "<p class=\"warn-text\">");
			jtext(h, d, "note");
			raw(h, "</p>\n");
			continue;
		}
		raw(h, "<table class=\"kv\">\n");
		change_list(h, "Added", json_object_get(d, "added"), 0);
		change_list(h, "Removed", json_object_get(d, "removed"), 0);
		change_list(h, "Upgraded", json_object_get(d, "upgraded"), 1);
		change_list(h, "Downgraded", json_object_get(d, "downgraded"), 1);
		fmt(h, "<tr><th>Unchanged</th><td>%lld</td></tr>\n</table>\n", (long long)jget_int(d, "unchanged"));
	}
	raw(h, "</section>\n");
}

char *report_html(const json_t *m, size_t *len)
{
	struct html h = {NULL, 0, 0};
	const json_t *v = json_object_get(m, "verdict");
	char style_hash[64], script_hash[64];

	csp_hash(css, style_hash);
	csp_hash(script, script_hash);
	raw(&h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
	fmt(&h, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src %s; script-src %s\">\n",
	    style_hash, script_hash);
	raw(&h, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	text(&h, json_is_true(json_object_get(v, "trusted")) ? "VERIFIED" : "NOT TRUSTED");
	raw(&h, " &ndash; ferry bundle report: ");
	jtext(&h, m, "file");
	raw(&h, "</title>\n<style>");
	raw(&h, css);
	raw(&h, "</style>\n</head>\n<body>\n");
	verdict_section(&h, m);
	raw(&h, "<header><h1>Bundle report: ");
	jtext(&h, m, "file");
	raw(&h, "</h1>\n<p class=\"meta\">generated ");
	jtext(&h, m, "generated");
	raw(&h, " by ");
	jtext(&h, m, "tool");
	raw(&h, "</p></header>\n");
	if (json_object_get(m, "bundle") != NULL) {
		bundle_section(&h, json_object_get(m, "bundle"));
		images_section(&h, json_object_get(m, "images"));
		items_section(&h, "charts", "Charts", json_object_get(m, "charts"), "name", "Chart");
		items_section(&h, "docs", "Docs", json_object_get(m, "docs"), "title", "Title");
		items_section(&h, "files", "Files", json_object_get(m, "files"), NULL, NULL);
		license_section(&h, json_object_get(m, "license"));
	}
	if (json_object_get(m, "comparison") != NULL)
		comparison_section(&h, json_object_get(m, "comparison"));
	if (json_object_get(m, "entries") != NULL)
		items_section(&h, "entries", "Every entry", json_object_get(m, "entries"), NULL, NULL);
	raw(&h, "<script>");
	raw(&h, script);
	raw(&h, "</script>\n</body>\n</html>\n");
	*len = h.len;
	return h.s;
}
