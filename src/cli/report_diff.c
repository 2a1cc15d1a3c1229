/* report_diff.c - the change review: this bundle against an older one. Images are
 * matched by reference; an image's SBOMs by platform (or, when each side has exactly
 * one, with each other); packages by type, name and architecture, and their versions
 * ordered by the package manager's own rules (pkgver.c). */
#include "cli/report.h"

#include <string.h>

#include "image/pkgver.h"
#include "image/sbom_write.h"

static const json_t *find_image(const json_t *images, const char *ref)
{
	size_t i;
	json_t *im;

	json_array_foreach(images, i, im)
		if (jget_str(im, "ref") != NULL && strcmp(jget_str(im, "ref"), ref) == 0)
			return im;
	return NULL;
}

static int same(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

static enum pkg_kind kind_of(const char *type)
{
	if (same(type, "deb"))
		return PKG_DEB;
	if (same(type, "apk"))
		return PKG_APK;
	if (same(type, "rpm"))
		return PKG_RPM;
	return 0;
}

static const json_t *find_pkg(const json_t *pkgs, const json_t *p)
{
	size_t i;
	json_t *q;

	json_array_foreach(pkgs, i, q)
		if (same(jget_str(q, "name"), jget_str(p, "name")) && same(jget_str(q, "arch"), jget_str(p, "arch")) &&
		    same(jget_str(q, "type"), jget_str(p, "type")))
			return q;
	return NULL;
}

static json_t *pkg_brief(const json_t *p)
{
	json_t *o = json_object();
	const char *keys[] = {"name", "version", "arch", "type"};
	size_t i;

	for (i = 0; i < 4; i++)
		if (json_object_get(p, keys[i]) != NULL)
			json_object_set(o, keys[i], json_object_get(p, keys[i]));
	return o;
}

static json_t *pkg_change(const json_t *old, const json_t *now)
{
	json_t *o = json_object();

	json_object_set(o, "name", json_object_get(now, "name"));
	json_object_set(o, "arch", json_object_get(now, "arch"));
	json_object_set(o, "type", json_object_get(now, "type"));
	json_object_set(o, "from", json_object_get(old, "version"));
	json_object_set(o, "to", json_object_get(now, "version"));
	return o;
}

static json_t *diff_packages(const json_t *old_sbom, const json_t *now_sbom)
{
	json_t *out = json_object(), *added = json_array(), *removed = json_array(), *up = json_array();
	json_t *down = json_array(), *p;
	const json_t *old_pkgs = json_object_get(old_sbom, "packages"), *now_pkgs = json_object_get(now_sbom, "packages");
	json_int_t unchanged = 0;
	size_t i;

	json_array_foreach(now_pkgs, i, p) {
		const json_t *o = find_pkg(old_pkgs, p);
		int c;
		if (o == NULL) {
			json_array_append_new(added, pkg_brief(p));
			continue;
		}
		c = pkg_version_cmp(kind_of(jget_str(p, "type")), jget_str(o, "version"), jget_str(p, "version"));
		if (c < 0)
			json_array_append_new(up, pkg_change(o, p));
		else if (c > 0)
			json_array_append_new(down, pkg_change(o, p));
		else
			unchanged++;
	}
	json_array_foreach(old_pkgs, i, p)
		if (find_pkg(now_pkgs, p) == NULL)
			json_array_append_new(removed, pkg_brief(p));
	json_object_set_new(out, "added", added);
	json_object_set_new(out, "removed", removed);
	json_object_set_new(out, "upgraded", up);
	json_object_set_new(out, "downgraded", down);
	json_object_set_new(out, "unchanged", json_integer(unchanged));
	return out;
}

/* The old image's SBOM that matches one of the new image's. */
static const json_t *match_sbom(const json_t *old_sboms, const json_t *now_sboms, const json_t *s)
{
	size_t i;
	json_t *o;

	if (json_array_size(old_sboms) == 1 && json_array_size(now_sboms) == 1)
		return json_array_get(old_sboms, 0);
	json_array_foreach(old_sboms, i, o)
		if (jget_str(o, "platform") != NULL && same(jget_str(o, "platform"), jget_str(s, "platform")))
			return o;
	return NULL;
}

static void compare_image(const json_t *old_im, const json_t *now_im, json_t *packages)
{
	const json_t *old_sboms = json_object_get(old_im, "sboms"), *now_sboms = json_object_get(now_im, "sboms");
	size_t i;
	json_t *s;

	json_array_foreach(now_sboms, i, s) {
		const json_t *o = match_sbom(old_sboms, now_sboms, s);
		json_t *d;
		if (json_object_get(s, "error") != NULL)
			continue;
		if (o == NULL || json_object_get(o, "error") != NULL) {
			d = json_object();
			json_object_set_new(d, "note", json_string(o == NULL ? "no SBOM for this platform in the old bundle" :
			    "the old bundle's SBOM did not verify"));
		} else {
			d = diff_packages(o, s);
		}
		json_object_set(d, "ref", json_object_get(now_im, "ref"));
		json_object_set(d, "platform", json_object_get(s, "platform"));
		json_array_append_new(packages, d);
	}
}

json_t *report_compare(const json_t *now_model, const json_t *old_model, const char *old_path)
{
	json_t *out = json_object(), *added = json_array(), *removed = json_array(), *changed = json_array();
	json_t *unchanged = json_array(), *packages = json_array(), *im, *imgs = json_object();
	const json_t *now_images = json_object_get(now_model, "images"), *old_images = json_object_get(old_model, "images");
	const json_t *ov = json_object_get(old_model, "verdict"), *ob = json_object_get(old_model, "bundle");
	size_t i;

	json_object_set_new(out, "against", json_text(old_path));
	json_object_set(out, "trusted", json_object_get(ov, "trusted"));
	json_object_set(out, "summary", json_object_get(ov, "summary"));
	if (ob != NULL) {
		json_object_set(out, "name", json_object_get(ob, "name"));
		json_object_set(out, "version", json_object_get(ob, "version"));
		json_object_set(out, "created", json_object_get(ob, "created"));
	}
	if (old_images == NULL || now_images == NULL) {
		json_object_set_new(out, "error", json_string(old_images == NULL ?
		    "the older bundle did not verify: nothing is compared" : "this bundle did not verify: nothing is compared"));
		goto end;
	}
	json_array_foreach(now_images, i, im) {
		const json_t *o = find_image(old_images, jget_str(im, "ref"));
		if (o == NULL) {
			json_array_append(added, json_object_get(im, "ref"));
		} else if (!same(jget_str(o, "digest"), jget_str(im, "digest"))) {
			json_t *c = json_object();
			json_object_set(c, "ref", json_object_get(im, "ref"));
			json_object_set(c, "from", json_object_get(o, "digest"));
			json_object_set(c, "to", json_object_get(im, "digest"));
			json_array_append_new(changed, c);
			compare_image(o, im, packages);
		} else {
			json_array_append(unchanged, json_object_get(im, "ref"));
		}
	}
	json_array_foreach(old_images, i, im)
		if (find_image(now_images, jget_str(im, "ref")) == NULL)
			json_array_append(removed, json_object_get(im, "ref"));
end:
	json_object_set_new(imgs, "added", added);
	json_object_set_new(imgs, "removed", removed);
	json_object_set_new(imgs, "changed", changed);
	json_object_set_new(imgs, "unchanged", unchanged);
	json_object_set_new(out, "images", imgs);
	json_object_set_new(out, "packages", packages);
	return out;
}
