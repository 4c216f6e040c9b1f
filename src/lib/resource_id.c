/*
 * resource_id.c: parsing, formatting and comparing ARM resource IDs.
 *
 * This is the boundary for IDs: a string from a URL or a JSON body becomes a
 * struct jit_rid here, or a 400 that names the wrong part. Past it, code compares
 * structs and never string prefixes, so "/subscriptions/a/resourceGroups/rg" cannot
 * be taken to contain "/subscriptions/a/resourceGroups/rg2/...".
 *
 * The parser splits the ID into segments and walks them left to right, reporting
 * the first problem it meets. Nothing here allocates.
 *
 * Besides the forms in the header, an enforcement point (an enrolled agent, our
 * "network security group") lives under a group like any ARM resource:
 *   /subscriptions/{sub}/resourceGroups/{rg}/providers/Jitgate/enforcementPoints/{name}
 */
#include "resource_id.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* The longest form, a JIT policy, has ten segments; one more tells "too many". */
#define RID_MAX_SEGS 10

/* Input quoted in a message is cut at this many output characters. */
#define QUOTE_MAX 96

struct seg {
	const char *p;
	size_t len;
};

/* ASCII only: tolower() depends on the locale, and ARM names are ASCII here. */
static int
ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static bool
ascii_caseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
			return false;
	}
	return true;
}

/* Compares two name fields; bounded by the field size in case one lacks its NUL. */
static bool
name_eq(const char *a, const char *b)
{
	size_t la = strnlen(a, JIT_NAME_MAX + 1);
	size_t lb = strnlen(b, JIT_NAME_MAX + 1);

	return la == lb && ascii_caseeq(a, b, la);
}

static bool
name_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '.' || c == '_' || c == '-' || c == '(' || c == ')';
}

static int
check_name_n(const char *name, size_t len, const char *what, struct jit_error *err)
{
	char q[JIT_QUOTE_BUFSZ(QUOTE_MAX)];

	if (what == NULL)
		what = "name";
	if (len == 0)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "%s is empty", what);
	if (len > JIT_NAME_MAX)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"%s '%s' is longer than %d characters", what,
			jit_quote(q, sizeof(q), name, len), JIT_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (name_char_ok(c))
			continue;
		if (c > 0x20 && c < 0x7f)
			return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
				"%s '%s' contains '%c' at position %zu; allowed are letters, "
				"digits, '.', '_', '-', '(' and ')'",
				what, jit_quote(q, sizeof(q), name, len), c, i + 1);
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"%s '%s' contains byte 0x%02x at position %zu; allowed are letters, "
			"digits, '.', '_', '-', '(' and ')'",
			what, jit_quote(q, sizeof(q), name, len), c, i + 1);
	}
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "%s must not be '.' or '..'",
			what);
	if (name[len - 1] == '.')
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "%s '%s' must not end with '.'",
			what, jit_quote(q, sizeof(q), name, len));
	return 0;
}

int
jit_rid_check_name(const char *name, const char *what, struct jit_error *err)
{
	if (name == NULL)
		name = "";
	/* Bounded: a name one byte too long is already too long. */
	return check_name_n(name, strnlen(name, JIT_NAME_MAX + 1), what, err);
}

/* Bounded copy into a name field; callers check first, so it never truncates. */
static void
copy_name(char dst[JIT_NAME_MAX + 1], const char *src, size_t len)
{
	if (len > JIT_NAME_MAX)
		len = JIT_NAME_MAX;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static bool
seg_is(const struct seg *sg, const char *keyword)
{
	size_t klen = strlen(keyword);

	return sg->len == klen && ascii_caseeq(sg->p, keyword, klen);
}

/* Fills at most RID_MAX_SEGS + 1 segments of the path after the leading '/'. */
static size_t
split(const char *path, struct seg sg[RID_MAX_SEGS + 1])
{
	size_t n = 0;
	const char *p = path;

	for (;;) {
		const char *slash = strchr(p, '/');

		sg[n].p = p;
		sg[n].len = slash != NULL ? (size_t)(slash - p) : strlen(p);
		n++;
		if (slash == NULL || n == RID_MAX_SEGS + 1)
			return n;
		p = slash + 1;
	}
}

/* A fixed segment that is empty or a dot gets a message about its shape, not its word. */
static int
check_fixed_shape(const char *id, size_t idlen, const struct seg *sg, struct jit_error *err)
{
	char q[JIT_QUOTE_BUFSZ(QUOTE_MAX)];

	if (sg->len == 0)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"resource ID '%s' has an empty segment ('//')",
			jit_quote(q, sizeof(q), id, idlen));
	if ((sg->len == 1 && sg->p[0] == '.') ||
		(sg->len == 2 && sg->p[0] == '.' && sg->p[1] == '.'))
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"resource ID '%s' has a '.' or '..' segment",
			jit_quote(q, sizeof(q), id, idlen));
	return 0;
}

static int
expect_fixed(const char *id, size_t idlen, const struct seg *sg, const char *keyword,
	const char *after, struct jit_error *err)
{
	char q[JIT_QUOTE_BUFSZ(QUOTE_MAX)], qs[JIT_QUOTE_BUFSZ(QUOTE_MAX)];

	if (check_fixed_shape(id, idlen, sg, err) != 0)
		return -1;
	if (seg_is(sg, keyword))
		return 0;
	return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
		"resource ID '%s' has '%s' %s where '%s' was expected",
		jit_quote(q, sizeof(q), id, idlen), jit_quote(qs, sizeof(qs), sg->p, sg->len),
		after, keyword);
}

static int
missing(const char *id, size_t idlen, const char *what, struct jit_error *err)
{
	char q[JIT_QUOTE_BUFSZ(QUOTE_MAX)];

	return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "resource ID '%s' has no %s",
		jit_quote(q, sizeof(q), id, idlen), what);
}

static int
unknown_type(const char *id, size_t idlen, struct jit_error *err)
{
	char q[JIT_QUOTE_BUFSZ(QUOTE_MAX)];

	return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
		"resource ID '%s' is not a virtual machine, JIT policy or enforcement point ID",
		jit_quote(q, sizeof(q), id, idlen));
}

static int
extra_segments(const char *id, size_t idlen, const char *what, struct jit_error *err)
{
	char q[JIT_QUOTE_BUFSZ(QUOTE_MAX)];

	return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
		"resource ID '%s' has unexpected segments after the %s",
		jit_quote(q, sizeof(q), id, idlen), what);
}

static int
take_name(const struct seg *sg, const char *what, char dst[JIT_NAME_MAX + 1],
	struct jit_error *err)
{
	if (check_name_n(sg->p, sg->len, what, err) != 0)
		return -1;
	copy_name(dst, sg->p, sg->len);
	return 0;
}

/* {namespace}/{type}/{name} below a group, for the types that have no further levels. */
static int
parse_leaf(const char *id, size_t idlen, const struct seg *sg, size_t n, const char *what,
	char dst[JIT_NAME_MAX + 1], struct jit_error *err)
{
	if (n < 8)
		return missing(id, idlen, what, err);
	if (take_name(&sg[7], what, dst, err) != 0)
		return -1;
	if (n > 8)
		return extra_segments(id, idlen, what, err);
	return 0;
}

/* Everything below a resource group: .../providers/{namespace}/{type}/... */
static int
parse_provider(const char *id, size_t idlen, const struct seg *sg, size_t n, struct jit_rid *r,
	struct jit_error *err)
{
	if (check_fixed_shape(id, idlen, &sg[4], err) != 0)
		return -1;
	if (!seg_is(&sg[4], "providers") || n < 7)
		return unknown_type(id, idlen, err);
	if (check_fixed_shape(id, idlen, &sg[5], err) != 0 ||
		check_fixed_shape(id, idlen, &sg[6], err) != 0)
		return -1;

	if (seg_is(&sg[5], "Microsoft.Compute") && seg_is(&sg[6], "virtualMachines")) {
		if (parse_leaf(id, idlen, sg, n, "virtual machine name", r->name, err) != 0)
			return -1;
		r->kind = JIT_RID_VM;
		return 0;
	}
	if (seg_is(&sg[5], "Jitgate") && seg_is(&sg[6], "enforcementPoints")) {
		if (parse_leaf(id, idlen, sg, n, "enforcement point name", r->name, err) != 0)
			return -1;
		r->kind = JIT_RID_ENFORCEMENT_POINT;
		return 0;
	}
	if (!seg_is(&sg[5], "Microsoft.Security") || !seg_is(&sg[6], "locations"))
		return unknown_type(id, idlen, err);

	if (n < 8)
		return missing(id, idlen, "location", err);
	if (take_name(&sg[7], "location", r->location, err) != 0)
		return -1;
	if (n < 9)
		return unknown_type(id, idlen, err);
	if (check_fixed_shape(id, idlen, &sg[8], err) != 0)
		return -1;
	if (!seg_is(&sg[8], "jitNetworkAccessPolicies"))
		return unknown_type(id, idlen, err);
	if (n < 10)
		return missing(id, idlen, "policy name", err);
	if (take_name(&sg[9], "policy name", r->name, err) != 0)
		return -1;
	if (n > 10)
		return extra_segments(id, idlen, "policy name", err);
	r->kind = JIT_RID_JIT_POLICY;
	return 0;
}

/* Walks the segments of s (len bytes, a leading '/', no trailing one) into *r. */
static int
parse_path(const char *s, size_t len, struct jit_rid *r, struct jit_error *err)
{
	struct seg sg[RID_MAX_SEGS + 1];
	size_t n;

	r->kind = JIT_RID_ROOT;
	if (len == 1)
		return 0;
	n = split(s + 1, sg);
	if (expect_fixed(s, len, &sg[0], "subscriptions", "at the start", err) != 0)
		return -1;
	if (n < 2)
		return missing(s, len, "subscription ID", err);
	if (take_name(&sg[1], "subscription ID", r->sub, err) != 0)
		return -1;
	r->kind = JIT_RID_SUBSCRIPTION;
	if (n == 2)
		return 0;

	if (expect_fixed(s, len, &sg[2], "resourceGroups", "after the subscription ID", err) != 0)
		return -1;
	if (n < 4)
		return missing(s, len, "resource group name", err);
	if (take_name(&sg[3], "resource group name", r->rg, err) != 0)
		return -1;
	r->kind = JIT_RID_RESOURCE_GROUP;
	if (n == 4)
		return 0;

	return parse_provider(s, len, sg, n, r, err);
}

int
jit_rid_parse(const char *s, struct jit_rid *out, struct jit_error *err)
{
	struct jit_rid r;
	char q[JIT_QUOTE_BUFSZ(QUOTE_MAX)];
	size_t len;

	if (s == NULL || s[0] == '\0')
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "resource ID is empty");
	len = strnlen(s, JIT_RESOURCE_ID_MAX + 1);
	if (len > JIT_RESOURCE_ID_MAX)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"resource ID '%s' is longer than %d characters",
			jit_quote(q, sizeof(q), s, len), JIT_RESOURCE_ID_MAX);
	if (s[0] != '/')
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"resource ID '%s' does not start with '/'",
			jit_quote(q, sizeof(q), s, len));
	if (len > 1 && s[len - 1] == '/')
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT, "resource ID '%s' ends with '/'",
			jit_quote(q, sizeof(q), s, len));

	/* Parsed aside, so *out is untouched when the ID is refused. */
	memset(&r, 0, sizeof(r));
	if (parse_path(s, len, &r, err) != 0)
		return -1;
	if (out != NULL)
		*out = r;
	return 0;
}

/* The kind with its article, for "is not %s ID". */
static const char *
kind_name(enum jit_rid_kind kind)
{
	switch (kind) {
	case JIT_RID_ROOT:
		return "a root scope";
	case JIT_RID_SUBSCRIPTION:
		return "a subscription";
	case JIT_RID_RESOURCE_GROUP:
		return "a resource group";
	case JIT_RID_VM:
		return "a virtual machine";
	case JIT_RID_JIT_POLICY:
		return "a JIT policy";
	case JIT_RID_ENFORCEMENT_POINT:
		return "an enforcement point";
	}
	return "a known resource";
}

int
jit_rid_parse_kind(const char *s, enum jit_rid_kind kind, struct jit_rid *out,
	struct jit_error *err)
{
	struct jit_rid r;
	char q[JIT_QUOTE_BUFSZ(QUOTE_MAX)];

	if (jit_rid_parse(s, &r, err) != 0)
		return -1;
	if (r.kind != kind)
		return jit_errorf(err, 400, JIT_E_INVALID_CONTENT,
			"resource ID '%s' is not %s ID", jit_quote(q, sizeof(q), s, strlen(s)),
			kind_name(kind));
	if (out != NULL)
		*out = r;
	return 0;
}

/* Field length bounded by its array, so a struct filled by hand cannot overrun. */
static int
flen(const char *field)
{
	return (int)strnlen(field, JIT_NAME_MAX + 1);
}

int
jit_rid_format(const struct jit_rid *r, char *buf, size_t n)
{
	int len;

	if (r == NULL || buf == NULL || n == 0)
		return -1;
	switch (r->kind) {
	case JIT_RID_ROOT:
		len = snprintf(buf, n, "/");
		break;
	case JIT_RID_SUBSCRIPTION:
		len = snprintf(buf, n, "/subscriptions/%.*s", flen(r->sub), r->sub);
		break;
	case JIT_RID_RESOURCE_GROUP:
		len = snprintf(buf, n, "/subscriptions/%.*s/resourceGroups/%.*s", flen(r->sub),
			r->sub, flen(r->rg), r->rg);
		break;
	case JIT_RID_VM:
		len = snprintf(buf, n,
			"/subscriptions/%.*s/resourceGroups/%.*s"
			"/providers/Microsoft.Compute/virtualMachines/%.*s",
			flen(r->sub), r->sub, flen(r->rg), r->rg, flen(r->name), r->name);
		break;
	case JIT_RID_JIT_POLICY:
		len = snprintf(buf, n,
			"/subscriptions/%.*s/resourceGroups/%.*s"
			"/providers/Microsoft.Security/locations/%.*s"
			"/jitNetworkAccessPolicies/%.*s",
			flen(r->sub), r->sub, flen(r->rg), r->rg, flen(r->location), r->location,
			flen(r->name), r->name);
		break;
	case JIT_RID_ENFORCEMENT_POINT:
		len = snprintf(buf, n,
			"/subscriptions/%.*s/resourceGroups/%.*s"
			"/providers/Jitgate/enforcementPoints/%.*s",
			flen(r->sub), r->sub, flen(r->rg), r->rg, flen(r->name), r->name);
		break;
	default:
		buf[0] = '\0';
		return -1;
	}
	if (len < 0 || (size_t)len >= n) {
		buf[0] = '\0';
		return -1;
	}
	return len;
}

bool
jit_rid_equal(const struct jit_rid *a, const struct jit_rid *b)
{
	if (a == NULL || b == NULL || a->kind != b->kind)
		return false;
	switch (a->kind) {
	case JIT_RID_ROOT:
		return true;
	case JIT_RID_SUBSCRIPTION:
		return name_eq(a->sub, b->sub);
	case JIT_RID_RESOURCE_GROUP:
		return name_eq(a->sub, b->sub) && name_eq(a->rg, b->rg);
	case JIT_RID_VM:
	case JIT_RID_ENFORCEMENT_POINT:
		return name_eq(a->sub, b->sub) && name_eq(a->rg, b->rg) &&
			name_eq(a->name, b->name);
	case JIT_RID_JIT_POLICY:
		return name_eq(a->sub, b->sub) && name_eq(a->rg, b->rg) &&
			name_eq(a->location, b->location) && name_eq(a->name, b->name);
	}
	return false;
}

/* How deep a kind sits: root 0, subscription 1, group 2, anything in a group 3; -1 unknown. */
static int
depth(enum jit_rid_kind kind)
{
	switch (kind) {
	case JIT_RID_ROOT:
		return 0;
	case JIT_RID_SUBSCRIPTION:
		return 1;
	case JIT_RID_RESOURCE_GROUP:
		return 2;
	case JIT_RID_VM:
	case JIT_RID_JIT_POLICY:
	case JIT_RID_ENFORCEMENT_POINT:
		return 3;
	}
	return -1;
}

bool
jit_rid_in_scope(const struct jit_rid *scope, const struct jit_rid *res)
{
	int sd, rd;

	if (scope == NULL || res == NULL)
		return false;
	sd = depth(scope->kind);
	rd = depth(res->kind);
	if (sd < 0 || rd < sd)
		return false;
	switch (sd) {
	case 0:
		return true;
	case 1:
		return name_eq(scope->sub, res->sub);
	case 2:
		return name_eq(scope->sub, res->sub) && name_eq(scope->rg, res->rg);
	default:
		/* A resource in a group contains only itself. */
		return jit_rid_equal(scope, res);
	}
}

static void
set_name(char dst[JIT_NAME_MAX + 1], const char *src)
{
	if (src == NULL)
		src = "";
	copy_name(dst, src, strnlen(src, JIT_NAME_MAX));
}

void
jit_rid_subscription(struct jit_rid *out, const char *sub)
{
	memset(out, 0, sizeof(*out));
	out->kind = JIT_RID_SUBSCRIPTION;
	set_name(out->sub, sub);
}

void
jit_rid_resource_group(struct jit_rid *out, const char *sub, const char *rg)
{
	jit_rid_subscription(out, sub);
	out->kind = JIT_RID_RESOURCE_GROUP;
	set_name(out->rg, rg);
}

void
jit_rid_vm(struct jit_rid *out, const char *sub, const char *rg, const char *vm)
{
	jit_rid_resource_group(out, sub, rg);
	out->kind = JIT_RID_VM;
	set_name(out->name, vm);
}

void
jit_rid_policy(struct jit_rid *out, const char *sub, const char *rg, const char *loc,
	const char *name)
{
	jit_rid_resource_group(out, sub, rg);
	out->kind = JIT_RID_JIT_POLICY;
	set_name(out->location, loc);
	set_name(out->name, name);
}

void
jit_rid_enforcement_point(struct jit_rid *out, const char *sub, const char *rg, const char *name)
{
	jit_rid_resource_group(out, sub, rg);
	out->kind = JIT_RID_ENFORCEMENT_POINT;
	set_name(out->name, name);
}

void
jit_rid_key(const struct jit_rid *r, char out[JIT_RESOURCE_ID_MAX])
{
	if (jit_rid_format(r, out, JIT_RESOURCE_ID_MAX) < 0)
		out[0] = '\0';
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}
